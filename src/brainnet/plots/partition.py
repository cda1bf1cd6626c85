"""Variance partitioning: unique and shared variance of two feature sets, per region."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainnet.plots.figure import _FORMATS, WIDTH, _fill_doc, _render

_PARTS = (("unique_a", "unique to A", "tab:blue"), ("shared", "shared", "0.6"))
_PARTS += (("unique_b", "unique to B", "tab:orange"),)


@_fill_doc
def plot_partition(
    partition: xr.Dataset,
    path: str | os.PathLike | None = None,
    *,
    formats: Iterable[str] = _FORMATS,
) -> Figure:
    """Unique and shared variance of each pair of feature sets, per region.

    One panel per pair (``A vs B``). For each region (visual regions by rank,
    then those outside the hierarchy), three bars: the
    held-out variance unique to A, shared by A and B, and unique to B, each
    the mean over the region's channels with the mean of their bootstrap
    bounds as a bar; in the band and window where the joint model's R²,
    averaged over all channels, is highest (named in the panel's title).

    Parameters
    ----------
    partition : xarray.Dataset
        Output of :func:`brainnet.encoding.partition_pairs`.
    %(path)s
    %(formats)s
    %(returns)s
    """
    missing = [n for n in ("unique_a", "unique_b", "shared", "r2_joint") if n not in partition]
    if missing or "pair" not in partition.dims:
        raise KeyError(
            f"plots: expected the output of brainnet.encoding.partition_pairs, lacking {missing}"
        )
    return _render(path, formats, _draw_partition, partition)


def _draw_partition(partition):
    n_pairs = partition.sizes["pair"]
    fig = Figure(figsize=(WIDTH, 2.4 * n_pairs + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n_pairs, 1, squeeze=False)[:, 0])
    regions = _regions(partition)
    width = 0.8 / len(_PARTS)
    for ax, pair in zip(axes, partition["pair"].values, strict=True):
        cell = _best_cell(partition.sel(pair=pair))
        for k, (name, label, colour) in enumerate(_PARTS):
            means, lows, highs = (
                np.array([_region_mean(cell, f"{name}{s}", r) for r in regions])
                for s in ("", "_low", "_high")
            )
            x = np.arange(len(regions)) + (k - 1) * width
            error = np.abs(np.vstack([means - lows, highs - means]))
            ax.bar(x, means, width, color=colour, label=label)
            if np.isfinite(error).all():
                ax.errorbar(x, means, error, ls="", color="black", lw=0.8, capsize=1.5)
        ax.axhline(0, color="0.3", lw=0.6)
        ax.set_xticks(range(len(regions)), regions)
        ax.set_ylabel("held-out R²")
        band, window = cell["band"].item(), cell["window"].item()
        ax.set_title(
            f"A = {cell['feature_a'].item()}, B = {cell['feature_b'].item()} ({band}, {window})",
            fontsize=8,
        )
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle("Variance partitioning by banded ridge (mean over each region's channels)")
    return fig


def _regions(partition: xr.Dataset) -> list[str]:
    """Visual regions by rank, then those outside the hierarchy (rank 0)."""
    rank = dict(
        zip(partition["region"].values.astype(str), partition["region_rank"].values, strict=True)
    )
    return sorted(rank, key=lambda region: (rank[region] == 0, rank[region], region))


def _best_cell(pair: xr.Dataset) -> xr.Dataset:
    """The band and window of the highest joint R² averaged over channels."""
    joint = pair["r2_joint"].mean("channel").transpose("band", "window").to_numpy()
    if not np.isfinite(joint).any():
        return pair.isel(band=0, window=0)
    b, w = np.unravel_index(np.nanargmax(joint), joint.shape)
    return pair.isel(band=int(b), window=int(w))


def _region_mean(cell: xr.Dataset, name: str, region: str) -> float:
    members = cell["region"].values.astype(str) == region
    values = cell[name].values[members]
    return float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
