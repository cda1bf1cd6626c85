"""How similar a network's layer RDMs are to each other: can RSA tell its layers apart?

RSA scores a layer by how well its RDM matches a brain RDM. Two layers whose
RDMs are nearly the same get nearly the same score from every brain RDM, so
no amount of brain data decides between them: in untrained AlexNet the RDMs
of conv3, conv4 and conv5 correlate above 0.99 (``docs/rsa_bias.md``).
:func:`layer_similarity` measures this for one model, with the RDMs and the
comparison method of an RSA run, and is written beside every RSA result.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainnet.join import layer_names
from brainnet.rsa._checks import _check_choice
from brainnet.rsa._inputs import _model_rdms, _provenance
from brainnet.rsa.compare import COMPARE_METHODS, compare_rdms
from brainnet.rsa.rdm import FEATURE_SCALINGS, METRICS


def layer_similarity(
    activations: xr.Dataset,
    *,
    metric: str = "euclidean",
    feature_scaling: str = "standard",
    method: str = "spearman",
) -> xr.Dataset:
    """Similarity of every layer's RDM with every other layer's.

    Parameters
    ----------
    activations : xarray.Dataset
        One variable per layer, dims ``(stimulus, feature_<layer>)``;
        attribute ``layers`` gives the order.
    metric, feature_scaling : str
        How the layer RDMs are computed (see :func:`rsa_scores`).
    method : str
        RDM comparison (see :func:`compare_rdms`).

    Returns
    -------
    similarity : xarray.Dataset
        ``similarity (layer, layer_other)``, symmetric with 1 on the diagonal
        (NaN for a constant RDM), and ``adjacent (layer)``: the similarity of
        each layer with the next one (NaN for the last). Coordinates
        ``layer_index`` and ``layer_other_index``; attributes ``metric``,
        ``feature_scaling``, ``method`` and the model provenance.
    """
    _check_choice(metric, METRICS, "metric")
    _check_choice(feature_scaling, FEATURE_SCALINGS, "feature_scaling")
    _check_choice(method, COMPARE_METHODS, "method")
    layers = layer_names(activations)
    rdms = _model_rdms(activations, layers, metric, feature_scaling)
    matrix = compare_rdms(rdms, rdms, method)
    adjacent = np.append(np.diagonal(matrix, offset=1), np.nan)
    index = np.arange(len(layers))
    ds = xr.Dataset(
        {
            "similarity": (("layer", "layer_other"), matrix),
            "adjacent": ("layer", adjacent),
        },
        coords={
            "layer": layers,
            "layer_index": ("layer", index),
            "layer_other": layers,
            "layer_other_index": ("layer_other", index),
        },
        attrs={
            "metric": metric,
            "feature_scaling": feature_scaling,
            "method": method,
            **_provenance(activations),
        },
    )
    ds["similarity"].attrs["long_name"] = f"{method} similarity of the two layers' RDMs"
    ds["adjacent"].attrs["long_name"] = "similarity of the layer's RDM with the next layer's"
    return ds
