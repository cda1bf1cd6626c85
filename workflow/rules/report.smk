rule comparisons:
    """Paired tests between pairs of models of one dataset and method."""
    input:
        scores=lambda wc: [
            f"{RESULTS}/{wc.dataset}/{model}/{wc.method}.nc" for model in compared_models(wc.dataset)
        ],
        activations=lambda wc: [
            f"{RESULTS}/{wc.dataset}/activations/{model}.nc"
            for model in compared_models(wc.dataset)
        ],
    output:
        f"{RESULTS}/{{dataset}}/comparisons_{{method}}.nc",
    params:
        pairs=lambda wc: comparison_pairs(wc.dataset),
        settings={k: v for k, v in config["comparison"].items() if k != "pairs"},
        ceiled=config["gradient"]["ceiled"],
        seed=config["seed"],
    log:
        f"{LOGS}/comparisons/{{dataset}}_{{method}}.log",
    benchmark:
        f"{BENCHMARKS}/comparisons/{{dataset}}_{{method}}.tsv",
    resources:
        # reduced run (2 models, 500 bootstrap and 500 permutations): about 16 s CPU
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/comparisons.py"


rule model_comparison:
    """Alignment of every model of a dataset, per method and band, and the paired differences."""
    input:
        gradients=lambda wc: gradients_of(wc.dataset),
        comparisons=lambda wc: comparisons_of(wc.dataset),
    output:
        png=report(
            f"{RESULTS}/{{dataset}}/figures/model_comparison.png",
            caption="../report/model_comparison.rst",
            category="{dataset}",
            labels={"figure": "model comparison"},
        ),
        svg=f"{RESULTS}/{{dataset}}/figures/model_comparison.svg",
    params:
        alpha=config["gradient"]["alpha"],
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
        report(f"{RESULTS}/summary.csv", caption="../report/summary.rst", category="summary",
               labels={"file": "summary.csv (download)"}),
        page=report(f"{RESULTS}/summary.html", caption="../report/summary.rst",
                    category="summary", labels={"file": "summary table"}),
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


rule comparison_table:
    """One row per dataset, method, pair of models, band, window and statistic."""
    input:
        [c for name in config["datasets"] for c in comparisons_of(name)],
    output:
        report(f"{RESULTS}/comparisons.csv", caption="../report/comparisons.rst",
               category="summary"),
    log:
        f"{LOGS}/comparison_table.log",
    benchmark:
        f"{BENCHMARKS}/comparison_table.tsv",
    resources:
        # a table of a few thousand rows: seconds, well under 1 GB
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/comparison_table.py"
