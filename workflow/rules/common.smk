# Helpers shared by the rule files: which files a dataset's rules need.
from brainnet.config import ICEEG_FORMATS, RDM_FORMATS, analyses, dataset_models
from brainnet.datasets import subjects


def recordings(dataset):
    """The recordings section of a dataset's config."""
    return config["datasets"][dataset]["recordings"]


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
