"""Precomputed brain RDMs: fMRI region RDMs, neuron-population RDMs, users' own files.

Every loader returns the ``brain_rdms`` layout that
:func:`brainnet.rsa.rsa_precomputed` reads (``docs/architecture.md``):

* ``rdm (channel, stimulus, stimulus_other)``: float64, symmetric, zero
  diagonal; every ``channel`` is one RDM source (a subject's region, a
  session, a monkey population);
* ``stimulus_id`` on ``stimulus`` and the same ids as ``stimulus_other_id`` on
  ``stimulus_other``;
* channel coordinates ``channel`` (label), ``subject``, ``region``,
  ``region_rank`` (1 = V1 ... 4 = IT, as :data:`REGION_RANKS`) and ``x``,
  ``y``, ``z`` (NaN: RDM sources have no position), plus ``session``.

RDMs are validated on reading (:func:`brainnet.rsa.check_rdms`): square,
symmetric, at least 3 stimuli, no NaN off the diagonal; a NaN diagonal becomes
zero. Dissimilarities must not be negative (a similarity or correlation
matrix is not an RDM), and an RDM whose dissimilarities are all equal (all
zero, say) is refused: it ranks no pair of stimuli, so its correlation with
any model is undefined. Every error names the file and the RDM.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io
import xarray as xr

from brainnet.io import read_dataset
from brainnet.join import clean_ids
from brainnet.log import logger
from brainnet.rsa import check_rdms, to_matrices
from brainnet.stimuli import IMAGE_SUFFIXES
from brainnet.tables import read_ranks, read_stimulus_list

__all__ = [
    "REGION_RANKS",
    "brain_rdm_dataset",
    "load_algonauts",
    "load_kriegeskorte92",
    "load_rdm_netcdf",
    "load_rdm_npz",
]

#: Rank along the ventral stream of the regions of the bundled RDM sets; early
#: visual cortex (V1-V3) is ranked with V1, human and monkey IT as IT (4), as in
#: :data:`brainnet.recordings.arrays.DEFAULT_REGION_RANKS`.
REGION_RANKS = {"EVC": 1, "IT": 4, "hIT": 4, "mIT": 4}


def brain_rdm_dataset(
    rdms: np.ndarray,
    stimulus_ids: Sequence[str],
    *,
    subject: str | Sequence[str],
    region: str | Sequence[str],
    region_rank: int | Sequence[int],
    channel: Sequence[str] | None = None,
    session: int | Sequence[int] = 1,
    source: str = "brain_rdms",
) -> xr.Dataset:
    """Build and validate a ``brain_rdms`` Dataset from square RDMs.

    Parameters
    ----------
    rdms : array, shape (n_rdms, n_stimuli, n_stimuli) or (n_stimuli, n_stimuli)
        Square RDMs, rows and columns in the order of ``stimulus_ids``.
    stimulus_ids : sequence of str
        One id per row, matching the ``stimulus_id`` of the stimulus table
        (usually the image file stem).
    subject, region, region_rank, session
        Per RDM, or one value for all.
    channel : sequence of str, optional
        Labels; ``"<subject>:<region>"`` (plus ``"-<session>"`` when sessions
        differ) by default.
    source : str
        The file the RDMs come from; errors name it.

    Returns
    -------
    brain_rdms : xarray.Dataset
    """
    values = np.asarray(rdms, dtype=np.float64)
    if values.ndim == 2:
        values = values[None]
    if values.ndim != 3:
        raise ValueError(f"{source}: RDMs must be (n_rdms, n, n) or (n, n), got {values.shape}")
    values = check_rdms(values, source)
    k, n = values.shape[:2]
    ids = np.asarray(clean_ids(stimulus_ids, source), dtype=str)
    if ids.shape != (n,):
        raise ValueError(
            f"{source}: the RDMs cover {n} stimuli but {ids.size} stimulus ids were given"
        )
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"{source}: stimulus ids repeat: {unique[counts > 1][:5].tolist()}")
    meta = {
        name: _per_rdm(value, k, name, source)
        for name, value in (
            ("subject", subject),
            ("region", region),
            ("region_rank", region_rank),
            ("session", session),
        )
    }
    if channel is None:
        several = len(set(meta["session"])) > 1
        channel = [
            f"{s}:{r}" + (f"-{e}" if several else "")
            for s, r, e in zip(meta["subject"], meta["region"], meta["session"], strict=True)
        ]
    channel = _per_rdm(channel, k, "channel", source)
    if len(set(channel)) != k:
        raise ValueError(f"{source}: channel labels repeat: {channel}")
    _check_dissimilarities(values, channel, source)
    meta["region_rank"] = read_ranks(meta["region_rank"], channel, source)
    nan = np.full(k, np.nan)
    return xr.Dataset(
        {"rdm": (("channel", "stimulus", "stimulus_other"), values)},
        coords={
            "channel": ("channel", np.asarray(channel, dtype=str)),
            "subject": ("channel", np.asarray(meta["subject"], dtype=str)),
            "region": ("channel", np.asarray(meta["region"], dtype=str)),
            "region_rank": ("channel", np.asarray(meta["region_rank"], dtype=int)),
            "session": ("channel", np.asarray(meta["session"], dtype=int)),
            "x": ("channel", nan),
            "y": ("channel", nan),
            "z": ("channel", nan),
            "stimulus_id": ("stimulus", ids),
            "stimulus_other_id": ("stimulus_other", ids),
        },
        attrs={"source": str(source)},
    )


def load_algonauts(root: str | os.PathLike) -> xr.Dataset:
    """Read the Algonauts 2019 fMRI RDMs of 15 subjects for 78 object images.

    Parameters
    ----------
    root : path-like
        The folder with ``brain_data/fmri_EVC_RDMs.npz`` and
        ``brain_data/fmri_IT_RDMs.npz`` (key ``arr_0``, ``(15, 78, 78)``) and,
        optionally, ``stimuli_data/image_01.jpg`` ... ``image_78.jpg``.

    Returns
    -------
    brain_rdms : xarray.Dataset
        30 channels, ``"01:EVC"`` ... ``"15:IT"``: subject ``"01"`` ...
        ``"15"``, region ``"EVC"`` (rank 1) or ``"IT"`` (rank 4). Row ``i`` of
        an RDM is image ``i + 1``, so ``stimulus_id`` is the file stem
        ``image_01`` ... (as :func:`brainnet.stimuli.build_stimuli` names the
        images of that folder). When ``stimuli_data/`` exists, its images must
        be exactly these.
    """
    root = Path(root)
    blocks, ids = [], None
    for region in ("EVC", "IT"):
        path = root / "brain_data" / f"fmri_{region}_RDMs.npz"
        values = _read_npz(path, "arr_0")
        if values.ndim != 3:
            raise ValueError(f"{path}: expected (subjects, n, n) RDMs, got {values.shape}")
        if ids is None:
            ids = [f"image_{i + 1:02d}" for i in range(values.shape[-1])]
            _check_image_folder(root / "stimuli_data", ids, path)
        blocks.append(
            brain_rdm_dataset(
                values,
                ids,
                subject=[f"{s + 1:02d}" for s in range(len(values))],
                region=region,
                region_rank=REGION_RANKS[region],
                source=str(path),
            )
        )
    ds = xr.concat(blocks, dim="channel")
    ds.attrs = {"source": str(root), "format": "algonauts"}
    logger.info(
        "algonauts: %d RDMs over %d stimuli from %s",
        ds.sizes["channel"],
        ds.sizes["stimulus"],
        root,
    )
    return ds


def load_kriegeskorte92(root: str | os.PathLike) -> xr.Dataset:
    """Read the human and monkey IT RDMs of the 92-object set (Kriegeskorte et al. 2008).

    Parameters
    ----------
    root : path-like
        The folder with ``92_brainRDMs.mat`` (human IT, 4 subjects x 2
        sessions, struct array ``RDMs`` with fields ``RDM`` and ``name``) and
        ``Kriegeskorte_Neuron2008_supplementalData.mat`` (struct array
        ``RDMs_mIT_hIT_fig1`` with the monkey IT RDM of Kiani et al. 2007,
        674 neurons, as a condensed 4186-vector).

    Returns
    -------
    brain_rdms : xarray.Dataset
        9 channels: ``"BE:hIT-1"`` ... ``"TI:hIT-2"`` (subject initials of
        the release, region ``"hIT"``, ``session`` 1 or 2) and
        ``"monkey:mIT-1"`` (subject ``"monkey"``, region ``"mIT"``); both
        regions rank 4 (IT). ``stimulus_id`` is ``stim_001`` ... ``stim_092``
        in the order of ``stimuli_92_uint8.npy``, the ids that
        :func:`brainnet.stimuli.build_stimuli` gives that array. The group
        average human RDM of the supplement (``hITvisStim_316vx``) is left
        out: it is the mean of the subject RDMs.
    """
    root = Path(root)
    human_file = root / "92_brainRDMs.mat"
    monkey_file = root / "Kriegeskorte_Neuron2008_supplementalData.mat"
    human = _mat_struct(human_file, "RDMs")
    rdms, subjects, sessions = [], [], []
    for entry in human.ravel():
        name = str(np.squeeze(entry["name"]))
        parts = [p.strip() for p in name.split("|")]
        if len(parts) != 3 or not parts[2].startswith("Session:"):
            raise ValueError(
                f"{human_file}: unexpected RDM name {name!r}; expected "
                "'hIT | <subject> | Session: <n>'"
            )
        rdms.append(np.asarray(entry["RDM"], dtype=np.float64))
        subjects.append(parts[1])
        sessions.append(int(parts[2].split(":")[1]))
    monkey = [
        e
        for e in _mat_struct(monkey_file, "RDMs_mIT_hIT_fig1").ravel()
        if str(np.squeeze(e["name"])).startswith("mIT")
    ]
    if len(monkey) != 1:
        raise ValueError(
            f"{monkey_file}: expected one 'mIT...' RDM in RDMs_mIT_hIT_fig1, found {len(monkey)}"
        )
    rdms.append(to_matrices(np.asarray(monkey[0]["RDM"], dtype=np.float64).ravel()))
    shapes = {r.shape for r in rdms}
    if len(shapes) != 1:
        raise ValueError(
            f"{human_file} and {monkey_file} hold RDMs of different sizes: {sorted(shapes)}"
        )
    n = rdms[0].shape[0]
    ds = brain_rdm_dataset(
        np.stack(rdms),
        [f"stim_{i + 1:03d}" for i in range(n)],
        subject=[*subjects, "monkey"],
        region=["hIT"] * len(subjects) + ["mIT"],
        region_rank=REGION_RANKS["hIT"],
        channel=[f"{s}:hIT-{e}" for s, e in zip(subjects, sessions, strict=True)]
        + ["monkey:mIT-1"],
        session=[*sessions, 1],
        source=f"{human_file} and {monkey_file}",
    )
    ds.attrs = {"source": str(root), "format": "kriegeskorte92"}
    logger.info("kriegeskorte92: %d RDMs over %d stimuli from %s", ds.sizes["channel"], n, root)
    return ds


def load_rdm_npz(
    path: str | os.PathLike,
    *,
    region: str | Sequence[str],
    region_rank: int | Sequence[int],
    subject: str | Sequence[str] | None = None,
    stimuli: str | os.PathLike | None = None,
    stimulus_ids: Sequence[str] | None = None,
    key: str | None = None,
) -> xr.Dataset:
    """Read users' own square RDMs from a NumPy ``.npz`` (or ``.npy``) file.

    Parameters
    ----------
    path : path-like
        ``.npz`` holding one array ``(n_rdms, n, n)`` or ``(n, n)`` (and
        optionally ``stimulus_id``, one string per row), or a ``.npy`` array.
    region, region_rank : str / int or sequence
        Per RDM or one for all (see :data:`REGION_RANKS`; 0 = outside the
        visual hierarchy).
    subject : str or sequence of str, optional
        Per RDM or one for all; ``"01"``, ``"02"`` ... (one subject per RDM)
        by default.
    stimuli : path-like, optional
        A file naming the stimulus of each row: one ``stimulus_id`` a line,
        or a CSV/TSV with a ``stimulus_id`` column (the config key
        ``recordings.stimuli``, as for the ``array`` format).
    stimulus_ids : sequence of str, optional
        The stimulus of each row, as in the stimulus table. One of
        ``stimuli``, ``stimulus_ids`` or a ``stimulus_id`` array in the file
        is required (a ``.npy`` file holds none).
    key : str, optional
        The array to read from an ``.npz`` holding several.

    Returns
    -------
    brain_rdms : xarray.Dataset
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"RDM file not found: {path}")
    stored_ids = None
    if path.suffix == ".npy":
        values = np.load(path)
    else:
        with np.load(path) as data:
            names = [k for k in data.files if k != "stimulus_id"]
            if key is None and len(names) != 1:
                raise ValueError(f"{path} holds arrays {data.files}; pass key= to choose one")
            values = _read_npz(path, key or names[0])
            if "stimulus_id" in data.files:
                stored_ids = data["stimulus_id"].astype(str)
    if stimuli is not None:
        if stimulus_ids is not None:
            raise ValueError("give the RDM rows' stimuli as stimuli= or stimulus_ids=, not both")
        stimulus_ids = read_stimulus_list(stimuli)
    if stimulus_ids is None:
        if stored_ids is None:
            raise ValueError(
                f"{path} holds no 'stimulus_id' array: name the stimulus of each row in a "
                "file given as recordings.stimuli (stimuli=), or pass stimulus_ids="
            )
        stimulus_ids = stored_ids
    elif stored_ids is not None and not np.array_equal(np.asarray(stimulus_ids, str), stored_ids):
        raise ValueError(f"stimulus_ids differ from the 'stimulus_id' stored in {path}")
    values = values[None] if values.ndim == 2 else values
    if subject is None:
        subject = [f"{i + 1:02d}" for i in range(len(values))]
    return brain_rdm_dataset(
        values,
        stimulus_ids,
        subject=subject,
        region=region,
        region_rank=region_rank,
        source=str(path),
    )


def load_rdm_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Read and validate a ``brain_rdms`` netCDF file (as written by
    :func:`brainnet.io.write_netcdf` from any loader here)."""
    path = Path(path)
    ds = read_dataset(path, required=("rdm", "stimulus_id", "subject", "region"))
    rdm = ds["rdm"]
    if set(rdm.dims) != {"channel", "stimulus", "stimulus_other"}:
        raise ValueError(
            f"{path}: 'rdm' must have dims (channel, stimulus, stimulus_other), got {rdm.dims}"
        )
    rdm = rdm.transpose("channel", "stimulus", "stimulus_other")
    ranks = (
        ds["region_rank"].values
        if "region_rank" in ds.coords
        else np.zeros(rdm.sizes["channel"], dtype=int)
    )
    out = brain_rdm_dataset(
        rdm.values,
        ds["stimulus_id"].values.astype(str),
        subject=ds["subject"].values.astype(str),
        region=ds["region"].values.astype(str),
        region_rank=ranks,
        channel=ds["channel"].values.astype(str) if "channel" in ds.coords else None,
        session=ds["session"].values if "session" in ds.coords else 1,
        source=str(path),
    )
    if "stimulus_other_id" in ds.coords and not np.array_equal(
        ds["stimulus_other_id"].values.astype(str), out["stimulus_id"].values
    ):
        raise ValueError(f"{path}: 'stimulus_other_id' does not repeat 'stimulus_id'")
    out.attrs = {**ds.attrs, "source": str(path)}
    return out


def _read_npz(path: Path, key: str) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"RDM file not found: {path}")
    with np.load(path) as data:
        if key not in data.files:
            raise KeyError(f"{path} has no array {key!r}; it holds {data.files}")
        return np.asarray(data[key], dtype=np.float64)


def _mat_struct(path: Path, name: str) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"RDM file not found: {path}")
    data = scipy.io.loadmat(path)
    if name not in data:
        raise KeyError(
            f"{path} has no variable {name!r}; it holds "
            f"{sorted(k for k in data if not k.startswith('__'))}"
        )
    struct = data[name]
    if struct.dtype.names is None or not {"RDM", "name"} <= set(struct.dtype.names):
        raise ValueError(f"{path}: {name!r} is not a struct array with fields RDM and name")
    return struct


def _check_image_folder(folder: Path, ids: list[str], rdm_file: Path) -> None:
    """The images of ``folder`` (when present) must be exactly the RDM rows."""
    if not folder.is_dir():
        return
    stems = sorted(p.stem for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if stems != sorted(ids):
        missing = sorted(set(ids) - set(stems))[:5]
        extra = sorted(set(stems) - set(ids))[:5]
        raise ValueError(
            f"{rdm_file} has {len(ids)} rows but {folder} holds {len(stems)} "
            f"images (missing {missing}, unexpected {extra})"
        )


def _check_dissimilarities(values: np.ndarray, channel: Sequence[str], source: str) -> None:
    """Refuse negative dissimilarities and RDMs that rank no pair of stimuli."""
    off = ~np.eye(values.shape[1], dtype=bool)
    for i, (label, rdm) in enumerate(zip(channel, values, strict=True)):
        pairs = rdm[off]
        if pairs.min() < 0:
            raise ValueError(
                f"{source}: RDM {i} ({label}) holds negative dissimilarities (down to "
                f"{pairs.min():.3g}); an RDM holds distances >= 0: convert similarities "
                "first (e.g. 1 - r)"
            )
        if np.ptp(pairs) == 0:
            raise ValueError(
                f"{source}: RDM {i} ({label}) is constant (every dissimilarity is "
                f"{pairs[0]:g}): it ranks no pair of stimuli, so its similarity with any "
                "model is undefined"
            )


def _per_rdm(value, k: int, name: str, source: str) -> list:
    if isinstance(value, str | int | np.integer):
        return [value] * k
    values = list(value)
    if len(values) != k:
        raise ValueError(f"{source}: {name} has {len(values)} values for {k} RDMs")
    return values
