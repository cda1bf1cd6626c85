# Helpers shared by the rule files: which files a dataset's rules need.
from brainnet.config import ICEEG_FORMATS, RDM_FORMATS, analyses, dataset_models


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
        for method in analyses(config["datasets"][dataset])
    ]
