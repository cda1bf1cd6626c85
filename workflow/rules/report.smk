from brainnet.gradient import model_pairs


def comparison_pairs(dataset):
    """The (model_a, model_b) pairs of a dataset's paired tests (config comparison.pairs)."""
    models = dataset_models(config, dataset)
    return model_pairs(
        models,
        config["comparison"]["pairs"],
        control_of={name: config["models"][name].get("control_of") for name in models},
        configured=list(config["models"]),
    )


def compared_models(dataset):
    """The models that enter a dataset's paired tests, in config order."""
    return list(dict.fromkeys(model for pair in comparison_pairs(dataset) for model in pair))


def comparisons_of(dataset):
    """The paired-comparison files of a dataset, one per method; none without pairs."""
    if not comparison_pairs(dataset):
        return []
    return [
        f"{RESULTS}/{dataset}/comparisons_{method}.nc"
        for method in analyses(config["datasets"][dataset])
    ]


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
    script:
        "../scripts/summary.py"


rule comparison_table:
    """One row per dataset, method, pair of models, band, window and statistic."""
    input:
        [c for name in config["datasets"] for c in comparisons_of(name)],
    output:
        report(f"{RESULTS}/comparisons.csv", caption="../report/comparisons.rst",
               category="summary"),
    script:
        "../scripts/comparison_table.py"
