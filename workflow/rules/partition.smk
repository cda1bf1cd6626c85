rule partition:
    """Unique and shared variance of pairs of feature sets (layers of one or two models)."""
    input:
        activations=lambda wc: [
            f"{RESULTS}/{wc.dataset}/activations/{model}.nc"
            for model in partition_models(config, wc.dataset)
        ],
        responses=f"{RESULTS}/{{dataset}}/responses.nc",
    output:
        partition=f"{RESULTS}/{{dataset}}/partition.nc",
        png=report(
            f"{RESULTS}/{{dataset}}/figures/partition.png",
            caption="../report/partition.rst",
            category="{dataset}",
            labels={"figure": "variance partitioning"},
        ),
        svg=f"{RESULTS}/{{dataset}}/figures/partition.svg",
    log:
        f"{LOGS}/partition/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/partition/{{dataset}}.tsv",
    params:
        models=lambda wc: partition_models(config, wc.dataset),
        pairs=lambda wc: dataset_partition_pairs(config, wc.dataset),
        # the encoding's outer folds and penalty grid
        settings={
            **{key: config["encoding"][key] for key in ("n_folds", "groups", "alphas")},
            **{key: config["partition"][key] for key in ("n_bootstrap", "ci")},
        },
        seed=config["seed"],
    threads: 1
    resources:
        # tests/test_workflow.py's run (150 stimuli, 1935 targets, one pair): 0.31 GB peak
        # memory, 6 s CPU; time and memory grow with pairs x targets x stimuli squared
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/partition.py"
