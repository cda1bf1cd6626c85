"""The channel table and the exclusion of contacts: marked bad, unassigned, flat or noisy.

Automatic detection uses a robust z-score of the log standard deviation
across the subject's contacts (median and scaled median absolute deviation),
so one broken contact cannot hide another. Every exclusion is logged with its
reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import mne
import numpy as np

from brainnet.log import logger, preview
from brainnet.preprocessing.reference import _reference_plan

__all__ = ["find_bad_channels"]

# Floor of the robust spread of log standard deviations: with bad_z = 5 a contact
# must differ from the median by a factor e**0.5 = 1.65 at least to be flagged.
_MIN_LOG_SPREAD = 0.1


def find_bad_channels(
    raw: mne.io.BaseRaw,
    picks: Sequence[str] | None = None,
    *,
    bad_z: float | None = 5.0,
    chunk_size: int = 16,
) -> dict[str, str]:
    """Contacts with NaN or infinite samples, a flat signal or an outlying variance.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording (need not be preloaded; contacts are read in chunks).
    picks : sequence of str | None
        Contacts to check; all sEEG/ECoG channels when None.
    bad_z : float | None
        Threshold on the robust z-score of the log standard deviation across
        the checked contacts (median and 1.4826 times the median absolute
        deviation, the latter floored at 0.1): above ``bad_z`` a contact is
        noisy, below ``-bad_z`` it is flat. None checks only NaN samples and
        zero variance.
    chunk_size : int
        Contacts read at once.

    Returns
    -------
    bad : dict of str to str
        Contact name to the reason it is bad, in the order of ``picks``.
    """
    if picks is None:
        picks = [raw.ch_names[i] for i in mne.pick_types(raw.info, seeg=True, ecog=True, dbs=True)]
    picks = list(picks)
    n_nan, n_inf = np.zeros((2, len(picks)), int)
    std = np.zeros(len(picks))
    for start in range(0, len(picks), chunk_size):
        data = raw.get_data(picks=picks[start : start + chunk_size])
        n_nan[start : start + chunk_size] = np.isnan(data).sum(axis=1)
        n_inf[start : start + chunk_size] = np.isinf(data).sum(axis=1)
        with np.errstate(invalid="ignore"):  # inf - inf: such contacts are bad anyway
            std[start : start + chunk_size] = data.std(axis=1)
    bad = {}
    n_times = raw.n_times
    # Non-finite samples first, by name: one infinite sample would make the
    # spread of every contact NaN below and spread over its shaft when referenced.
    for name, nans, infs in zip(picks, n_nan, n_inf, strict=True):
        counts = [
            f"{k} of {n_times} samples are {kind}"
            for k, kind in ((nans, "NaN"), (infs, "infinite"))
            if k
        ]
        if counts:
            bad[name] = "all samples are NaN" if nans == n_times else "; ".join(counts)
    for name, value in zip(picks, std, strict=True):
        if name not in bad and value == 0:
            bad[name] = "flat signal (zero variance)"
    checked = [i for i, name in enumerate(picks) if name not in bad]
    if bad_z is not None and len(checked) >= 3:
        log_std = np.log(std[checked])
        median = np.median(log_std)
        # The spread is floored so that contacts of a homogeneous set (as in
        # simulations) are not outliers for differing by a few percent.
        mad = max(1.4826 * np.median(np.abs(log_std - median)), _MIN_LOG_SPREAD)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (log_std - median) / mad
        for i, value in zip(checked, z, strict=True):
            if value > bad_z:
                bad[picks[i]] = f"noisy (robust z of log std {value:.1f} > {bad_z:g})"
            elif value < -bad_z:
                bad[picks[i]] = f"flat (robust z of log std {value:.1f} < {-bad_z:g})"
    return {name: bad[name] for name in picks if name in bad}


def _check_channels(channels, raw):
    table = channels.copy()
    if "name" in table.columns:
        table = table.set_index("name")
    table.index = table.index.astype(str)
    missing = [c for c in ("region", "region_rank") if c not in table.columns]
    if missing:
        raise ValueError(f"channel table lacks columns {missing}; it has {list(table.columns)}")
    if table.index.has_duplicates:
        repeated = sorted(set(table.index[table.index.duplicated()]))
        raise ValueError(f"channel table repeats {repeated}")
    absent = [name for name in table.index if name not in raw.ch_names]
    if absent:
        raise ValueError(
            f"channels {preview(absent)} of the channel table are not in the recording"
        )
    for column, default in (
        ("x", np.nan),
        ("y", np.nan),
        ("z", np.nan),
        ("status", "good"),
        ("status_description", ""),
    ):
        if column not in table.columns:
            table[column] = default
    table["region"] = table["region"].fillna("").astype(str)
    table["status"] = table["status"].fillna("good").astype(str).str.lower()
    table["status_description"] = table["status_description"].fillna("").astype(str)
    assigned = table["region"] != ""
    if table.loc[assigned, "region_rank"].isna().any():
        names = list(table.index[assigned & table["region_rank"].isna()])
        raise ValueError(f"channels {preview(names)} have a region but no region_rank")
    table["region_rank"] = table["region_rank"].fillna(0).astype(int)
    return table


def _select_channels(raw, table, reference, bad_z, chunk_size, subject):
    """Output channels (after exclusions and re-referencing) and the excluded contacts."""
    exclusions: dict[str, str] = {}
    for name, row in table.iterrows():
        if row["status"] == "bad" or name in raw.info["bads"]:
            exclusions[name] = "marked bad: " + (row["status_description"] or "channels.tsv")
        elif not row["region"]:
            exclusions[name] = "no region assigned"
    candidates = [name for name in table.index if name not in exclusions]
    exclusions.update(find_bad_channels(raw, candidates, bad_z=bad_z, chunk_size=chunk_size))
    good = [name for name in table.index if name not in exclusions]
    plan, unpaired = _reference_plan(table.loc[good], reference)
    exclusions.update(unpaired)
    for name, reason in exclusions.items():
        logger.warning("%s: excluding %s: %s", subject, name, reason)
    if not plan:
        raise ValueError(f"{subject}: no channel left after exclusions {exclusions}")
    logger.info(
        "%s: %d of %d contacts kept, %d %s channels",
        subject,
        len(good),
        len(table),
        len(plan),
        reference or "monopolar",
    )
    return plan, exclusions
