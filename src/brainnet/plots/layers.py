"""The layer-by-layer RDM similarity of one model: which of its layers RSA can tell apart."""

from __future__ import annotations

import os
from collections.abc import Iterable

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainnet.plots.figure import _FORMATS, _fill_doc, _render

#: Neighbouring layers whose RDMs correlate above this are flagged as hard to tell apart.
CLOSE = 0.95


@_fill_doc
def plot_layer_similarity(
    similarity: xr.Dataset,
    path: str | os.PathLike | None = None,
    *,
    formats: Iterable[str] = _FORMATS,
) -> Figure:
    """Similarity of every layer's RDM with every other layer's, with its value in each cell.

    Layers run in network order along both axes. Neighbouring layers whose
    RDMs correlate above 0.95 are outlined: every brain RDM scores them almost
    alike, so RSA can hardly prefer one over the other (the tied layers of
    the gradient statistics say how far it can with the data at hand).

    Parameters
    ----------
    similarity : xarray.Dataset
        Output of :func:`brainnet.rsa.layer_similarity`.
    %(path)s
    %(formats)s
    %(returns)s
    """
    if not isinstance(similarity, xr.Dataset) or "similarity" not in similarity:
        raise KeyError("plots: expected the output of brainnet.rsa.layer_similarity")
    return _render(path, formats, _draw_similarity, similarity)


def _draw_similarity(similarity):
    matrix = similarity["similarity"].transpose("layer", "layer_other").to_numpy()
    layers = [str(name) for name in similarity["layer"].values]
    side = float(np.clip(0.42 * len(layers) + 1.8, 3.5, 8.0))
    fig = Figure(figsize=(side + 1.0, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(
        matrix, cmap=mpl.colormaps["viridis"], vmin=min(0.0, np.nanmin(matrix)), vmax=1
    )
    for i, j in np.ndindex(matrix.shape):
        if np.isfinite(matrix[i, j]):
            dark = matrix[i, j] < 0.6
            ax.text(
                j,
                i,
                f"{matrix[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=5.5,
                color="white" if dark else "black",
            )
    for i in range(len(layers) - 1):
        if matrix[i, i + 1] > CLOSE:
            for a, b in ((i, i + 1), (i + 1, i)):
                ax.add_patch(
                    mpl.patches.Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False, ec="red", lw=1.4)
                )
    ax.set_xticks(range(len(layers)), layers, rotation=90)
    ax.set_yticks(range(len(layers)), layers)
    fig.colorbar(
        image,
        ax=ax,
        shrink=0.8,
        label=f"{similarity.attrs.get('method', '')} rho of the layer RDMs",
    )
    attrs = similarity.attrs
    model = attrs.get("model", "model")
    settings = ", ".join(str(attrs[k]) for k in ("metric", "feature_scaling") if k in attrs)
    fig.suptitle(f"Layer RDM similarity of {model} ({settings}); red: neighbours above {CLOSE}")
    return fig
