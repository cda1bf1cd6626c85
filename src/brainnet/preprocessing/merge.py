"""Merging the responses of several subjects into one dataset."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from brainnet.log import preview
from brainnet.responses import drop_unusable

__all__ = ["merge_responses"]


def merge_responses(datasets: Sequence[xr.Dataset]) -> xr.Dataset:
    """Concatenate the responses of several subjects along ``channel``.

    Parameters
    ----------
    datasets : sequence of xarray.Dataset
        Outputs of :func:`compute_responses` (or of the array loaders), with
        the same stimulus ids, bands, windows and settings.

    Returns
    -------
    responses : xarray.Dataset
        Channels of all inputs, in order; ``split_half`` and ``responsive_p``
        are NaN for inputs that lack them. ``exclusions`` and
        ``dropped_trials`` are concatenated, ``subjects`` lists the subjects.
        Stimuli that some subject has no response to (never shown to it, or
        every trial dropped) and channels constant over stimuli are left out
        and recorded in ``dropped_stimuli`` and ``exclusions``
        (:func:`brainnet.responses.drop_unusable`).
    """
    if not datasets:
        raise ValueError("merge_responses needs at least one dataset")
    first = datasets[0]
    ids = first["stimulus_id"].to_numpy().astype(str)
    for i, ds in enumerate(datasets[1:], start=1):
        other = ds["stimulus_id"].to_numpy().astype(str)
        if set(other) != set(ids):
            raise ValueError(
                f"{_label(ds, i)} has other stimulus ids than {_label(first, 0)}: "
                f"missing {preview(sorted(set(ids) - set(other)))}, "
                f"extra {preview(sorted(set(other) - set(ids)))}"
            )
        for dim, coords in (("band", ("fmin", "fmax")), ("window", ("tmin", "tmax"))):
            for name in (dim, *coords):
                if not np.array_equal(
                    ds[name].to_numpy(), first[name].to_numpy(), equal_nan=name != dim
                ):
                    raise ValueError(
                        f"{_label(ds, i)} has {name} "
                        f"{ds[name].to_numpy().tolist()}, {_label(first, 0)} has "
                        f"{first[name].to_numpy().tolist()}"
                    )
        if ds.attrs.get("settings") != first.attrs.get("settings"):
            raise ValueError(
                f"{_label(ds, i)} was made with other settings: "
                f"{ds.attrs.get('settings')} != {first.attrs.get('settings')}"
            )
    names = np.concatenate([ds["channel"].to_numpy().astype(str) for ds in datasets])
    duplicated = pd.Index(names)[pd.Index(names).duplicated()]
    if len(duplicated):
        raise ValueError(
            f"channel names repeat across datasets: {preview(sorted(set(duplicated)))}"
        )
    aligned = [_with_optional_vars(_by_stimulus(ds, ids), datasets) for ds in datasets]
    merged = xr.concat(
        aligned,
        dim="channel",
        data_vars="all",
        coords="different",
        compat="equals",
        join="exact",
        combine_attrs="drop",
    )
    merged.attrs = {
        "subjects": [str(s) for s in pd.unique(merged["subject"].to_numpy())],
        "settings": first.attrs.get("settings"),
        "exclusions": [e for ds in datasets for e in ds.attrs.get("exclusions", [])],
        "dropped_trials": [t for ds in datasets for t in ds.attrs.get("dropped_trials", [])],
    }
    return drop_unusable(merged)


def _label(ds, i):
    subjects = pd.unique(ds["subject"].to_numpy().astype(str)) if "subject" in ds.coords else []
    return f"dataset {i} ({', '.join(subjects) or 'no subject'})"


def _by_stimulus(ds, ids):
    order = pd.Index(ds["stimulus_id"].to_numpy().astype(str)).get_indexer(ids)
    return ds.isel(stimulus=order)


def _with_optional_vars(ds, datasets):
    # Array loaders give no p-values, and single-presentation data no split halves.
    ds = ds.copy()
    for name in ("split_half", "responsive_p"):
        template = next((d[name] for d in datasets if name in d), None)
        if template is not None and name not in ds:
            sizes = {
                dim: (ds.sizes[dim] if dim in ds.dims else template.sizes[dim])
                for dim in template.dims
            }
            ds[name] = xr.DataArray(np.full(tuple(sizes.values()), np.nan), dims=tuple(sizes))
            if "half" in sizes:
                ds = ds.assign_coords(half=[0, 1])
    return ds
