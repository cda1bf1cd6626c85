"""The continuous signal of a chunk of contacts: read, re-referenced and notch-filtered.

Contacts are read from the raw file in chunks of whole shafts, so that
memory stays bounded whatever the number of contacts.
"""

from __future__ import annotations

import mne
import numpy as np

from brainnet.log import logger
from brainnet.preprocessing.reference import _CONTACT

__all__ = ["remove_line_noise"]


def remove_line_noise(
    raw: mne.io.BaseRaw, line_freq: float = 50.0, *, n_jobs: int = 1
) -> mne.io.BaseRaw:
    """Notch-filter the line frequency and its harmonics, in place.

    Parameters
    ----------
    raw : mne.io.Raw
        Preloaded recording.
    line_freq : float
        Mains frequency (Hz): 50 in Europe and most of Asia, 60 in the Americas.
    n_jobs : int
        Parallel jobs for the filter.

    Returns
    -------
    raw : mne.io.Raw
        The same object, filtered.
    """
    nyquist = raw.info["sfreq"] / 2
    # MNE's FIR notch needs its 1 Hz transition band to end below Nyquist.
    freqs = np.arange(line_freq, nyquist - 1.0, line_freq)
    if freqs.size:
        raw.notch_filter(freqs, picks="all", n_jobs=n_jobs, verbose=False)
        logger.info("notch filter at %s Hz", ", ".join(f"{f:g}" for f in freqs))
    return raw


def _chunks(plan, chunk_size):
    """Group output channels so that a chunk holds whole shafts where possible."""
    groups: dict[str, list] = {}
    for item in plan:
        match = _CONTACT.match(item["sources"][0])
        groups.setdefault(match["shaft"] if match else item["name"], []).append(item)
    chunks, current, n_contacts = [], [], 0
    for group in groups.values():
        size = len({s for item in group for s in item["sources"]})
        if current and n_contacts + size > chunk_size:
            chunks.append(current)
            current, n_contacts = [], 0
        current += group
        n_contacts += size
    if current:
        chunks.append(current)
    return chunks


def _average_signal(raw, names, chunk_size):
    total = np.zeros(raw.n_times)
    for start in range(0, len(names), chunk_size):
        total += raw.get_data(picks=names[start : start + chunk_size]).sum(axis=0)
    return total / len(names)


def _chunk_raw(raw, chunk, average, line_freq, n_jobs):
    """Read, re-reference and notch-filter the contacts of one chunk."""
    contacts = list(dict.fromkeys(s for item in chunk for s in item["sources"]))
    data = raw.get_data(picks=contacts)
    if average is not None:
        data -= average
    info = mne.pick_info(raw.info, [raw.ch_names.index(c) for c in contacts])
    info["bads"] = []
    chunk_raw = mne.io.RawArray(data, info, first_samp=raw.first_samp, verbose=False)
    chunk_raw.set_annotations(raw.annotations)
    if line_freq is not None:
        remove_line_noise(chunk_raw, line_freq, n_jobs=n_jobs)
    pairs = [item for item in chunk if len(item["sources"]) == 2]
    if pairs:
        mne.set_bipolar_reference(
            chunk_raw,
            [item["sources"][0] for item in pairs],
            [item["sources"][1] for item in pairs],
            ch_name=[item["name"] for item in pairs],
            drop_refs=False,
            copy=False,
            verbose=False,
        )
    return chunk_raw.pick([item["name"] for item in chunk])
