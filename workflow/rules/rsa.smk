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
        mem_mb=6000,
    script:
        "../scripts/rsa.py"
