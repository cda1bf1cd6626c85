rule gradient:
    """Region means, preferred layers and the alignment statistics of one method."""
    input:
        f"{RESULTS}/{{dataset}}/{{model}}/{{method}}.nc",
    output:
        f"{RESULTS}/{{dataset}}/{{model}}/gradient_{{method}}.nc",
    log:
        f"{LOGS}/gradient/{{dataset}}/{{model}}_{{method}}.log",
    benchmark:
        f"{BENCHMARKS}/gradient/{{dataset}}/{{model}}_{{method}}.tsv",
    params:
        settings=config["gradient"],
        seed=config["seed"],
        planted_band=lambda wc: planted_band(wc.dataset, wc.model),
    resources:
        # default run: 0.17 GB peak memory, 4 s CPU
        mem_mb=1000,
        runtime=10,
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
    log:
        f"{LOGS}/figures/{{dataset}}/{{model}}_{{method}}.log",
    benchmark:
        f"{BENCHMARKS}/figures/{{dataset}}/{{model}}_{{method}}.tsv",
    resources:
        # default run: 0.21 GB peak memory, 10 s CPU
        mem_mb=1000,
        runtime=10,
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
    log:
        f"{LOGS}/recovery/{{dataset}}/{{model}}_{{method}}.log",
    benchmark:
        f"{BENCHMARKS}/recovery/{{dataset}}/{{model}}_{{method}}.tsv",
    resources:
        # default run: 0.20 GB peak memory, 6 s CPU
        mem_mb=1000,
        runtime=10,
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
    log:
        f"{LOGS}/glass_brain/{{dataset}}/{{model}}_{{method}}.log",
    benchmark:
        f"{BENCHMARKS}/glass_brain/{{dataset}}/{{model}}_{{method}}.tsv",
    resources:
        # reduced run: about 12 s CPU per figure (nilearn draws four views per row)
        mem_mb=1500,
        runtime=10,
    script:
        "../scripts/glass_brain.py"
