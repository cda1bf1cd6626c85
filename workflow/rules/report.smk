rule model_comparison:
    """Alignment of every model of a dataset, per method and band."""
    input:
        lambda wc: gradients_of(wc.dataset),
    output:
        png=report(
            f"{RESULTS}/{{dataset}}/figures/model_comparison.png",
            caption="../report/model_comparison.rst",
            category="{dataset}",
            labels={"figure": "model comparison"},
        ),
        svg=f"{RESULTS}/{{dataset}}/figures/model_comparison.svg",
    log:
        f"{LOGS}/model_comparison/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/model_comparison/{{dataset}}.tsv",
    resources:
        # default run: 0.19 GB peak memory, 6 s CPU
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/model_comparison.py"


rule summary:
    """One row per dataset, model, method, band and window."""
    input:
        gradients=[g for name in config["datasets"] for g in gradients_of(name)],
        truth=[f"{RESULTS}/{name}/bids" for name in config["datasets"]
               if recordings(name)["format"] == "synthetic"],
    output:
        report(f"{RESULTS}/summary.csv", caption="../report/summary.rst", category="summary"),
    log:
        f"{LOGS}/summary.log",
    benchmark:
        f"{BENCHMARKS}/summary.tsv",
    resources:
        # default run: 0.16 GB peak memory, 2 s CPU
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/summary.py"
