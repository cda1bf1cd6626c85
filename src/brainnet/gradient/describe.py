"""Reading a finished gradient Dataset: its description for messages, planted layers' indices."""

from __future__ import annotations

from collections.abc import Mapping

import xarray as xr


def planted_layer_index(gradient: xr.Dataset, planted: Mapping[str, str]) -> dict[str, int]:
    """Translate a ground truth of layer names per region into ``layer_index``.

    Parameters
    ----------
    gradient : xarray.Dataset
        Output of :func:`brainnet.gradient.gradient_statistics`.
    planted : mapping of str to str
        Region name to the name of the layer planted in it (synthetic data).

    Returns
    -------
    index : dict of str to int
        ``layer_index`` of the planted layer per region, in the gradient's
        region order (comparable with ``preferred_layer``).

    Raises
    ------
    ValueError
        When a region or a layer of ``planted`` is not in ``gradient``.
    """
    name = describe_gradient(gradient)
    regions = [str(r) for r in gradient["region"].values]
    layers = [str(layer) for layer in gradient["layer"].values]
    unknown = sorted(set(planted) - set(regions))
    if unknown:
        raise ValueError(f"planted regions {unknown} are not in {name}; it has {regions}")
    unknown = sorted({str(layer) for layer in planted.values()} - set(layers))
    if unknown:
        raise ValueError(f"planted layers {unknown} are not in {name}; it has {layers}")
    index = dict(zip(layers, gradient["layer_index"].values.tolist(), strict=True))
    return {region: int(index[str(planted[region])]) for region in regions if region in planted}


def describe_gradient(gradient: xr.Dataset) -> str:
    """Short description of a gradient Dataset for messages, from its attributes."""
    attrs = gradient.attrs
    described = ", ".join(
        f"{key}={attrs[key]!r}" for key in ("dataset", "model", "method") if key in attrs
    )
    return f"gradient ({described})" if described else "gradient"
