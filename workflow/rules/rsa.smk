rule rsa:
    """RSA between every layer and every channel (or precomputed brain RDM), with permutations."""
    input:
        activations=f"{RESULTS}/{{dataset}}/activations/{{model}}.nc",
        brain=lambda wc: brain_data(wc.dataset),
    output:
        f"{RESULTS}/{{dataset}}/{{model}}/rsa.nc",
    log:
        f"{LOGS}/rsa/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/rsa/{{dataset}}/{{model}}.tsv",
    params:
        settings=config["rsa"],
        seed=config["seed"],
        precomputed=lambda wc: recordings(wc.dataset)["format"] in RDM_FORMATS,
    threads: 1
    resources:
        # default run: 0.50 GB peak memory, 29 s CPU (alexnet; resnet18 0.47 GB, 20 s)
        mem_mb=1500,
        runtime=15,
    script:
        "../scripts/rsa.py"
