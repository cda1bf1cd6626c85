rule stimuli:
    """The stimulus table of a dataset; images are written beside it when generated."""
    output:
        table=f"{RESULTS}/{{dataset}}/stimuli.nc",
    log:
        f"{LOGS}/stimuli/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/stimuli/{{dataset}}.tsv",
    params:
        settings=lambda wc: config["datasets"][wc.dataset]["stimuli"],
        image_dir=lambda wc: f"{RESULTS}/{wc.dataset}/stimuli",
        seed=config["seed"],
    resources:
        # default run: 97 MB peak memory, 7 s CPU
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/stimuli.py"
