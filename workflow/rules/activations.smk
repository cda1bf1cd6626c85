rule activations:
    """Every stimulus through every layer of one model, streamed to disk."""
    input:
        stimuli=f"{RESULTS}/{{dataset}}/stimuli.nc",
    output:
        f"{RESULTS}/{{dataset}}/activations/{{model}}.nc",
    log:
        f"{LOGS}/activations/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/activations/{{dataset}}/{{model}}.tsv",
    params:
        model=lambda wc: config["models"][wc.model],
        extraction=config["extraction"],
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/activations.py"
