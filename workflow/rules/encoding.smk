rule encoding:
    """Cross-validated encoding models from every layer to every channel, band and window."""
    input:
        activations=f"{RESULTS}/{{dataset}}/activations/{{model}}.nc",
        responses=f"{RESULTS}/{{dataset}}/responses.nc",
    output:
        f"{RESULTS}/{{dataset}}/{{model}}/encoding.nc",
    log:
        f"{LOGS}/encoding/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/encoding/{{dataset}}/{{model}}.tsv",
    params:
        settings=stage_settings("encoding"),
        seed=config["seed"],
    threads: 1
    resources:
        # default run: 0.38 GB peak memory, 202 s CPU (alexnet; resnet18 158 s)
        mem_mb=1500,
        runtime=30,
    script:
        "../scripts/encoding.py"
