rule gradient:
    """Region means, preferred layers and the alignment statistics of one method."""
    input:
        f"{RESULTS}/{{dataset}}/{{model}}/{{method}}.nc",
    output:
        f"{RESULTS}/{{dataset}}/{{model}}/gradient_{{method}}.nc",
    params:
        settings=config["gradient"],
        seed=config["seed"],
        planted_band=lambda wc: planted_band(wc.dataset, wc.model),
    script:
        "../scripts/gradient.py"


rule figures:
    """The layer-by-region heatmap and the gradient plot of one model and method."""
    input:
        f"{RESULTS}/{{dataset}}/{{model}}/gradient_{{method}}.nc",
    output:
        heatmap=report(
            f"{RESULTS}/{{dataset}}/{{model}}/figures/heatmap_{{method}}.png",
            caption="../report/layer_region_map.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"figure": "layer-by-region map", "method": "{method}"},
        ),
        gradient=report(
            f"{RESULTS}/{{dataset}}/{{model}}/figures/gradient_{{method}}.png",
            caption="../report/gradient.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"figure": "gradient", "method": "{method}"},
        ),
        svg=multiext(f"{RESULTS}/{{dataset}}/{{model}}/figures/", "heatmap_{method}.svg",
                     "gradient_{method}.svg"),
    script:
        "../scripts/figures.py"


rule recovery:
    """Recovered against planted layer per region (synthetic data, reference model)."""
    input:
        gradient=f"{RESULTS}/{{dataset}}/{{model}}/gradient_{{method}}.nc",
        bids=f"{RESULTS}/{{dataset}}/bids",
    output:
        png=report(
            f"{RESULTS}/{{dataset}}/{{model}}/figures/recovery_{{method}}.png",
            caption="../report/recovery.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"figure": "recovery", "method": "{method}"},
        ),
        svg=f"{RESULTS}/{{dataset}}/{{model}}/figures/recovery_{{method}}.svg",
    script:
        "../scripts/recovery.py"


rule glass_brain:
    """Contacts on a glass brain coloured by preferred layer, for the strongest band-windows."""
    input:
        scores=f"{RESULTS}/{{dataset}}/{{model}}/{{method}}.nc",
        gradient=f"{RESULTS}/{{dataset}}/{{model}}/gradient_{{method}}.nc",
    output:
        png=report(
            f"{RESULTS}/{{dataset}}/{{model}}/figures/glass_brain_{{method}}.png",
            caption="../report/glass_brain.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"figure": "contacts on the brain", "method": "{method}"},
        ),
        svg=f"{RESULTS}/{{dataset}}/{{model}}/figures/glass_brain_{{method}}.svg",
    params:
        planted_band=lambda wc: planted_band(wc.dataset, wc.model),
    script:
        "../scripts/glass_brain.py"
