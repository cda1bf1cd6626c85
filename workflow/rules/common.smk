# Helpers shared by the rule files: which inputs a dataset's rules need.
from brainnet.config import ICEEG_FORMATS, RDM_FORMATS


def recordings(dataset):
    """The recordings section of a dataset's config."""
    return config["datasets"][dataset]["recordings"]
