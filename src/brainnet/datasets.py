"""From a dataset's ``recordings`` config to the loaders that read it.

Each format names its loader and its settings; this module is the one place
that knows which is which, so the workflow scripts stay one call each:

========================  ==========================================================
format                    what ``recordings`` holds besides ``format``
========================  ==========================================================
``synthetic``             ``reference_model`` and the simulation settings of
                          :func:`brainnet.recordings.synthetic.simulate_dataset`
``bids``                  ``path`` (BIDS root), ``task``, ``session``, ``run``,
                          ``acquisition``, ``space``, ``regions`` (mapping TSV),
                          ``missing_region``, ``subjects``
``assembly``              ``path``, ``subject``, ``region``, ``region_ranks``
``array``                 ``values`` (.npy), ``channels`` (TSV), ``stimuli`` (list),
                          ``subject``, ``region_ranks``, ``window``
``cowley``                ``path`` (release folder), ``session``
``algonauts``             ``path`` (folder with ``brain_data/``)
``kriegeskorte92``        ``path`` (folder with the ``.mat`` files)
``rdm``                   ``path`` (.npz/.npy or netCDF), ``region``, ``region_rank``,
                          ``subject``, ``stimuli`` (row ids), ``key``
========================  ==========================================================
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import xarray as xr

from brainnet.log import logger

__all__ = [
    "array_responses",
    "brain_rdms",
    "ground_truth",
    "planted_layers",
    "read_recording",
    "simulate",
    "subject_responses",
    "subjects",
]

_GROUND_TRUTH = Path("derivatives") / "simulation" / "ground_truth.json"
_NOT_LOADER_SETTINGS = ("format", "reference_model", "path")


def _settings(recordings: dict) -> dict:
    return {k: v for k, v in recordings.items() if k not in _NOT_LOADER_SETTINGS}


def _stimulus_ids(stimuli: xr.Dataset) -> list[str]:
    return [str(s) for s in stimuli["stimulus_id"].values]


def subjects(recordings: dict) -> list[str]:
    """Subject labels (without ``sub-``) of an sEEG dataset, known before it is read.

    ``recordings`` is a validated config section (schema defaults filled in).

    Synthetic datasets number their subjects as the generator does; BIDS
    datasets list them from the folder unless ``subjects`` names them.
    """
    if recordings["format"] == "synthetic":
        # the schema fills n_subjects; labels are numbered as the generator numbers them
        n = int(recordings["n_subjects"])
        return [f"{i + 1:0{max(2, len(str(n)))}d}" for i in range(n)]
    if recordings["format"] == "bids":
        from brainnet.recordings.bids import list_subjects

        listed = recordings.get("subjects")
        return (
            [str(s).removeprefix("sub-") for s in listed]
            if listed
            else list_subjects(recordings["path"])
        )
    raise ValueError(f"format {recordings['format']!r} has no subjects to preprocess")


def simulate(
    stimuli: xr.Dataset,
    activations: xr.Dataset,
    bids_root,
    recordings: dict,
    *,
    seed: int = 0,
    verbose=None,
) -> Path:
    """Write the synthetic BIDS-iEEG dataset of ``recordings`` (format ``synthetic``)."""
    from brainnet.recordings.synthetic import simulate_dataset

    settings = {"seed": seed, **_settings(recordings)}
    return simulate_dataset(
        stimuli, activations, bids_root, overwrite=True, verbose=verbose, **settings
    )


def read_recording(
    bids_root, subject: str, stimuli: xr.Dataset, recordings: dict, *, verbose=None
):
    """Read one subject of a BIDS-iEEG dataset with the entities and regions of ``recordings``.

    Returns
    -------
    recording : brainnet.recordings.bids.Recording
    """
    from brainnet.recordings.bids import read_subject

    keys = ("task", "session", "run", "acquisition", "space", "missing_region")
    # A synthetic dataset's ``regions`` are the planted ones, already written into
    # its electrodes.tsv; only a BIDS dataset's ``regions`` names a region-map file.
    if recordings["format"] == "bids":
        keys += ("regions",)
    return read_subject(
        bids_root,
        subject,
        stimulus_ids=_stimulus_ids(stimuli),
        verbose=verbose,
        **{k: recordings[k] for k in keys if k in recordings},
    )


def subject_responses(
    bids_root,
    subject: str,
    stimuli: xr.Dataset,
    recordings: dict,
    preprocessing: dict,
    *,
    verbose=None,
) -> xr.Dataset:
    """Read one subject of a BIDS-iEEG dataset and preprocess it to band-power responses."""
    from brainnet.preprocessing import compute_responses

    recording = read_recording(bids_root, subject, stimuli, recordings, verbose=verbose)
    return compute_responses(
        recording.raw,
        recording.events,
        recording.channels,
        _stimulus_ids(stimuli),
        subject=recording.subject,
        verbose=verbose,
        **preprocessing,
    )


def array_responses(stimuli: xr.Dataset, recordings: dict, *, verbose=None) -> xr.Dataset:
    """Responses already reduced to one value per stimulus (assembly, array, Cowley)."""
    from brainnet.recordings import arrays

    ids = _stimulus_ids(stimuli)
    fmt = recordings["format"]
    settings = _settings(recordings)
    if fmt == "assembly":
        return arrays.load_assembly(
            recordings["path"], stimulus_ids=ids, verbose=verbose, **settings
        )
    if fmt == "array":
        return arrays.load_array(stimulus_ids=ids, verbose=verbose, **settings)
    if fmt == "cowley":
        files = dict(zip(ids, (str(p) for p in stimuli["path"].values), strict=True))
        return arrays.load_cowley(
            recordings["path"], stimulus_ids=ids, stimulus_files=files, verbose=verbose, **settings
        )
    raise ValueError(f"format {fmt!r} is not an array format (assembly, array, cowley)")


def brain_rdms(stimuli: xr.Dataset, recordings: dict) -> xr.Dataset:
    """Precomputed brain RDMs, checked against the stimulus set.

    Raises
    ------
    ValueError
        When the RDMs' stimulus ids differ from the stimulus table's, naming
        the ids on each side.
    """
    from brainnet.recordings import rdms

    fmt, path = recordings["format"], recordings["path"]
    if fmt == "algonauts":
        data = rdms.load_algonauts(path)
    elif fmt == "kriegeskorte92":
        data = rdms.load_kriegeskorte92(path)
    elif str(path).endswith(".nc"):
        data = rdms.load_rdm_netcdf(path)
    else:
        data = rdms.load_rdm_npz(path, **_settings(recordings))
    expected, found = _stimulus_ids(stimuli), [str(s) for s in data["stimulus_id"].values]
    if expected != found:
        only_rdm = sorted(set(found) - set(expected))
        only_table = sorted(set(expected) - set(found))
        detail = (
            f"{len(found)} RDM stimuli against {len(expected)} images; "
            f"only in the RDMs: {only_rdm[:5]}, only in the images: {only_table[:5]}"
        )
        if not only_rdm and not only_table:
            detail = "same ids in another order; the images must follow the RDM rows"
        raise ValueError(f"brain RDMs from {path} do not match the stimulus set: {detail}")
    logger.info("%d brain RDMs of %d stimuli from %s", data.sizes["channel"], len(found), path)
    return data


def ground_truth(bids_root: str | os.PathLike) -> dict:
    """The ground-truth sidecar of a synthetic dataset."""
    path = Path(bids_root) / _GROUND_TRUTH
    if not path.is_file():
        raise FileNotFoundError(f"no ground truth at {path}: not a synthetic brainnet dataset")
    return json.loads(path.read_text())


def planted_layers(bids_root: str | os.PathLike) -> dict[str, str]:
    """Region name to the layer planted in it, for the visual regions of a synthetic set."""
    truth = ground_truth(bids_root)
    return {
        name: region["layer"] for name, region in truth["regions"].items() if region.get("layer")
    }
