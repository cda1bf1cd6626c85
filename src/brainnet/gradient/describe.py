"""Reading a finished gradient Dataset: its description, its one-line result, planted layers.

The one-line result reports the statistic that the README recommends, the
region-level rho (Spearman's rho between region rank and each visual
region's preferred layer), in the band and window where it is strongest
among the significant ones; or says that no alignment is significant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

#: The recommended alignment statistic, and its name on figures and in messages.
RECOMMENDED = "region_alignment_rho"
STATISTIC_NAMES = {
    "region_alignment_rho": "region-level ρ",
    "alignment_rho": "channel-level ρ",
    "alignment_tau": "pair-level τ",
}


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


def strongest_alignment(
    gradient: xr.Dataset,
    *,
    alpha: float | None = None,
    planted_band: Sequence[float] | None = None,
) -> list[tuple[str, str]]:
    """The band-windows with a significant region-level alignment, strongest first.

    Parameters
    ----------
    gradient : xarray.Dataset
        Output of :func:`brainnet.gradient.gradient_statistics`.
    alpha : float | None
        Significance level of the permutation p (``region_alignment_rho_p <
        alpha``); the gradient's ``alpha`` attribute (else 0.05) by default.
    planted_band : (float, float) | None
        Frequency range (Hz) of a signal planted into the data: only bands
        that overlap it are considered.

    Returns
    -------
    cells : list of (band, window)
        Ordered by decreasing ``|region_alignment_rho|``, then increasing p,
        then by the interval end nearest zero, farthest from zero first (of
        two perfect alignments, the one with the tighter interval).
    """
    alpha = gradient.attrs.get("alpha", 0.05) if alpha is None else alpha
    rho = gradient[RECOMMENDED].transpose("band", "window")
    p = gradient[f"{RECOMMENDED}_p"].transpose("band", "window").to_numpy()
    keep = np.isfinite(rho.to_numpy()) & (p < alpha)
    keep &= _in_band(gradient, planted_band)[:, None]
    bands, windows = np.nonzero(keep)
    value = rho.to_numpy()[bands, windows]
    low, high = (
        gradient[f"{RECOMMENDED}_{end}"].transpose("band", "window").to_numpy()[bands, windows]
        for end in ("low", "high")
    )
    nearest_zero = np.where(value >= 0, low, -high)
    order = np.lexsort((-nearest_zero, p[bands, windows], -np.abs(value)))
    return [
        (str(rho["band"].values[bands[k]]), str(rho["window"].values[windows[k]])) for k in order
    ]


def describe_result(
    gradient: xr.Dataset,
    *,
    alpha: float | None = None,
    planted_band: Sequence[float] | None = None,
) -> str:
    """The one-line result of a gradient: its strongest significant alignment, or none.

    Parameters are those of :func:`strongest_alignment`; with
    ``planted_band`` the line reports the planted band's result.

    Returns
    -------
    line : str
        For example ``"region-level rho = 1.00 [0.90, 1.00], p = 0.005 in
        high_gamma, 150-350 (the strongest of 6 of 15 band-windows with p <
        0.05)"``, or ``"no significant alignment (region-level rho, p < 0.05)
        in any of 15 band-windows"``, followed by the reason when the
        alignment is undefined everywhere for the same one.
    """
    alpha = gradient.attrs.get("alpha", 0.05) if alpha is None else alpha
    cells = strongest_alignment(gradient, alpha=alpha, planted_band=planted_band)
    scope = ""
    n_cells = gradient.sizes["band"] * gradient.sizes["window"]
    if planted_band is not None:
        scope = f"planted band {planted_band[0]:g}-{planted_band[1]:g} Hz: "
        n_cells = int(_in_band(gradient, planted_band).sum()) * gradient.sizes["window"]
    name = STATISTIC_NAMES[RECOMMENDED].replace("ρ", "rho")
    if not cells:
        # one reason for every band-window (e.g. a single region rank) is worth saying
        reasons = {
            alignment_undefined(gradient.isel(band=i, window=j))
            for i, j in np.ndindex(gradient.sizes["band"], gradient.sizes["window"])
        }
        reason = f"; {reasons.pop()}" if len(reasons) == 1 and None not in reasons else ""
        return (
            f"{scope}no significant alignment ({name}, p < {alpha:g}) "
            f"in any of {n_cells} band-windows{reason}"
        )
    band, window = cells[0]
    cell = gradient.sel(band=band, window=window)
    value, low, high, p = (
        float(cell[f"{RECOMMENDED}{suffix}"]) for suffix in ("", "_low", "_high", "_p")
    )
    return (
        f"{scope}{name} = {value:.2f} [{low:.2f}, {high:.2f}], p = {p:.3g} in {band}, {window} "
        f"(the strongest of {len(cells)} of {n_cells} band-windows with p < {alpha:g})"
    )


def alignment_undefined(cell: xr.Dataset) -> str | None:
    """Why the region-level rho of one band-window is undefined; None when it is defined.

    Parameters
    ----------
    cell : xarray.Dataset
        A gradient (:func:`brainnet.gradient.gradient_statistics`) at one
        band and one window.

    Returns
    -------
    reason : str | None
        For example ``"alignment undefined: all regions share one rank"``.
    """
    if np.isfinite(float(cell[RECOMMENDED])):
        return None
    ranks = cell["region_rank"].to_numpy()
    visual = ranks > 0
    levels = np.unique(ranks[visual])
    preferred = cell["preferred_layer"].to_numpy()[visual]
    missing = cell["region"].to_numpy()[visual][~np.isfinite(preferred)]
    if len(levels) == 0:
        reason = "no visual region (region_rank > 0)"
    elif len(levels) == 1:
        reason = "all regions share one rank"
    elif len(levels) < 3:
        reason = f"only {len(levels)} region ranks (3 needed)"
    elif len(np.unique(ranks[visual][np.isfinite(preferred)])) < 3:
        reason = (
            f"fewer than 3 ranks with a significant match (none in {', '.join(map(str, missing))})"
        )
    elif len(np.unique(preferred[np.isfinite(preferred)])) == 1:
        reason = "every region prefers the same layer"
    else:
        reason = "not computed for this band and window"
    return f"alignment undefined: {reason}"


def _in_band(gradient, planted_band):
    """Which bands overlap ``planted_band`` (all of them when it is None or bands lack edges)."""
    everything = np.ones(gradient.sizes["band"], dtype=bool)
    if planted_band is None or not {"fmin", "fmax"} <= set(gradient.coords):
        return everything
    fmin, fmax = gradient["fmin"].to_numpy(), gradient["fmax"].to_numpy()
    return (fmin < planted_band[1]) & (fmax > planted_band[0])
