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
        extraction=stage_settings("extraction"),
        seed=config["seed"],
    threads: 1
    resources:
        # default run: 1.2 GB peak memory, 19 s CPU (resnet18; alexnet 11 s)
        mem_mb=3000,
        runtime=20,
    script:
        "../scripts/activations.py"
