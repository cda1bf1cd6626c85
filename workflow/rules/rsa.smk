rule rsa:
    """Channel-level RSA: every layer against every channel (or precomputed RDM), permuted."""
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
        settings=stage_settings("rsa", level="channel"),
        seed=config["seed"],
        precomputed=lambda wc: recordings(wc.dataset)["format"] in RDM_FORMATS,
    threads: 1
    resources:
        # default run: 0.50 GB peak memory, 29 s CPU (alexnet; resnet18 0.47 GB, 20 s)
        mem_mb=1500,
        runtime=15,
    script:
        "../scripts/rsa.py"


rule rsa_region:
    """Region-level RSA: every layer against each subject's region RDM, with noise ceilings."""
    input:
        activations=f"{RESULTS}/{{dataset}}/activations/{{model}}.nc",
        brain=lambda wc: brain_data(wc.dataset),
    output:
        f"{RESULTS}/{{dataset}}/{{model}}/rsa_region.nc",
    log:
        f"{LOGS}/rsa_region/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/rsa_region/{{dataset}}/{{model}}.tsv",
    params:
        settings=stage_settings("rsa", level="region"),
        seed=config["seed"],
        precomputed=lambda wc: recordings(wc.dataset)["format"] in RDM_FORMATS,
    threads: 1
    resources:
        # default run (2000 permutations, 100 contact resamples): 0.6 GB, 60 s CPU (alexnet)
        mem_mb=1500,
        runtime=15,
    script:
        "../scripts/rsa.py"


rule rsa_region_table:
    """Region-level RSA as a table: scores, permutation p, noise ceilings, Net2Brain's R²."""
    input:
        f"{RESULTS}/{{dataset}}/{{model}}/rsa_region.nc",
    output:
        report(
            f"{RESULTS}/{{dataset}}/{{model}}/rsa_region.csv",
            caption="../report/rsa_region_table.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"table": "region-level RSA"},
        ),
    log:
        f"{LOGS}/rsa_region_table/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/rsa_region_table/{{dataset}}/{{model}}.tsv",
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/rsa_region_table.py"


rule layer_similarity:
    """How alike the model's layer RDMs are: which layers RSA can tell apart."""
    input:
        f"{RESULTS}/{{dataset}}/activations/{{model}}.nc",
    output:
        similarity=f"{RESULTS}/{{dataset}}/{{model}}/layer_similarity.nc",
        png=report(
            f"{RESULTS}/{{dataset}}/{{model}}/figures/layer_similarity.png",
            caption="../report/layer_similarity.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"figure": "layer similarity"},
        ),
        svg=f"{RESULTS}/{{dataset}}/{{model}}/figures/layer_similarity.svg",
    log:
        f"{LOGS}/layer_similarity/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/layer_similarity/{{dataset}}/{{model}}.tsv",
    params:
        settings={key: config["rsa"][key] for key in ("metric", "feature_scaling", "method")},
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/layer_similarity.py"
