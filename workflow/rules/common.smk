# Helpers shared by the rule files: which files a dataset's rules need.
from brainnet.config import (
    ICEEG_FORMATS,
    RDM_FORMATS,
    REGION_METHODS,
    analyses,
    dataset_models,
    dataset_partition_pairs,
    partition_models,
)
from brainnet.datasets import subjects
from brainnet.device import stage_device
from brainnet.gradient import model_pairs


def stage_settings(stage, **overrides):
    """A stage's config section with its device resolved (its own key, else the top level's)."""
    return {**config[stage], "device": stage_device(config, stage), **overrides}


def recordings(dataset):
    """The recordings section of a dataset's config."""
    return config["datasets"][dataset]["recordings"]


def planted_band(dataset, model):
    """The frequency range (Hz) of the signal planted by a synthetic dataset's reference model."""
    source = recordings(dataset)
    if source["format"] == "synthetic" and source["reference_model"] == model:
        return source["band"]
    return None


def brain_data(dataset):
    """What the brain side of RSA reads: responses, or precomputed RDMs."""
    if recordings(dataset)["format"] in RDM_FORMATS:
        return f"{RESULTS}/{dataset}/brain_rdms.nc"
    return f"{RESULTS}/{dataset}/responses.nc"


def gradients_of(dataset):
    """The gradient files of every model and method of a dataset."""
    return [
        f"{RESULTS}/{dataset}/{model}/gradient_{method}.nc"
        for model in dataset_models(config, dataset)
        for method in analyses(config["datasets"][dataset], config["rsa"]["level"])
    ]


def dataset_subjects(dataset):
    """Subjects preprocessed one job each (sEEG formats); none for reduced data."""
    if recordings(dataset)["format"] not in ICEEG_FORMATS:
        return []
    return subjects(recordings(dataset))


def bids_root(dataset):
    """The BIDS folder of an sEEG dataset: simulated into results, or the user's."""
    if recordings(dataset)["format"] == "synthetic":
        return f"{RESULTS}/{dataset}/bids"
    return recordings(dataset)["path"]


def subject_inputs(wildcards):
    """Inputs of one subject's preprocessing: the stimuli, and the simulation if any."""
    inputs = {"stimuli": f"{RESULTS}/{wildcards.dataset}/stimuli.nc"}
    if recordings(wildcards.dataset)["format"] == "synthetic":
        inputs["bids"] = bids_root(wildcards.dataset)
    return inputs


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
    """The paired-comparison files of a dataset, one per channel-level method; none without
    pairs (the paired test resamples channels: region-level methods have none)."""
    if not comparison_pairs(dataset):
        return []
    return [
        f"{RESULTS}/{dataset}/comparisons_{method}.nc"
        for method in analyses(config["datasets"][dataset])
        if method not in REGION_METHODS
    ]
