rule cka:
    """CKA: every layer against each subject's region patterns (or RDMs), permuted."""
    input:
        activations=f"{RESULTS}/{{dataset}}/activations/{{model}}.nc",
        brain=lambda wc: brain_data(wc.dataset),
    output:
        f"{RESULTS}/{{dataset}}/{{model}}/cka.nc",
    log:
        f"{LOGS}/cka/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/cka/{{dataset}}/{{model}}.tsv",
    params:
        settings=config["cka"],
        seed=config["seed"],
    threads: 1
    resources:
        # 200 stimuli, AlexNet (9 layers), 1000 permutations, 100 contact resamples: 7 s CPU,
        # 0.6 GB peak memory
        mem_mb=1500,
        runtime=15,
    script:
        "../scripts/cka.py"
