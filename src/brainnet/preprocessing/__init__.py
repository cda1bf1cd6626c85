"""MNE preprocessing from raw sEEG to band-power ``responses``.

The pipeline follows Kuzovkin et al. (2018), Communications Biology:

1. **Channel selection.** Contacts marked bad in ``channels.tsv`` (or
   ``raw.info["bads"]``), contacts without a region, contacts with NaN samples
   and contacts whose signal is flat or very noisy are excluded. Automatic
   detection uses a robust z-score of the log standard deviation across the
   subject's contacts (median and scaled median absolute deviation), so one
   broken contact cannot hide another. Every exclusion is logged with its
   reason and kept in the ``exclusions`` attribute of the result.
2. **Line noise.** Notch filters at the line frequency and its harmonics
   below Nyquist (:meth:`mne.io.Raw.notch_filter`).
3. **Reference.** Bipolar along each shaft (:func:`mne.set_bipolar_reference`;
   neighbouring contacts ``LO1-LO2``, ``LO2-LO3``; a pair's position is the
   midpoint of its contacts), common average, or none.
4. **Epochs** around stimulus onsets (:class:`mne.Epochs`), padded by the
   half-length of the longest wavelet so that no analysed sample sees the
   epoch edge.
5. **Band power** by Morlet wavelets (:func:`mne.time_frequency.tfr_array_morlet`,
   a few frequencies per band) or by band-pass filter and Hilbert envelope
   (:meth:`mne.io.Raw.filter`, :meth:`mne.io.Raw.apply_hilbert`).
6. **Baseline normalisation** as a log ratio in dB: log power averaged in
   each window minus each frequency's baseline log power averaged over all
   trials. The log ratio treats increases and decreases symmetrically and is
   close to normal across trials (percent change is bounded below by -100 %
   and heavy-tailed above), which suits the linear encoding models and rank
   statistics downstream; normalising each frequency before averaging within
   a band removes the 1/f slope, so every frequency of a band weighs the
   same. Averaging log power (rather than taking the log of averaged power)
   keeps windows of different lengths comparable: with no response, a 200 ms
   window and the 400 ms baseline have the same expected value, so the test
   below is unbiased. The baseline is pooled over trials because a single
   trial's baseline is too noisy to divide by.
7. **Responsiveness**: Wilcoxon signed-rank test across trials of window
   versus baseline power (both in dB against the same reference),
   Benjamini-Hochberg FDR over all channels, bands and windows of the subject.
8. **Repetitions** of a stimulus are averaged; the means over even and odd
   repetitions are kept as split halves for noise ceilings.

Memory stays bounded per subject: contacts are read from the raw file and
processed in chunks of whole shafts (``chunk_size`` contacts at most), epochs
are transformed in batches, and only per-trial window averages are kept.

Modules
-------
:mod:`~brainnet.preprocessing.settings`
    Bands, windows and the checks of every setting.
:mod:`~brainnet.preprocessing.channels`
    The channel table and the exclusion of bad contacts (step 1).
:mod:`~brainnet.preprocessing.reference`
    Bipolar pairs along each shaft (step 3).
:mod:`~brainnet.preprocessing.continuous`
    Chunks of contacts read, re-referenced and notch-filtered (steps 2-3).
:mod:`~brainnet.preprocessing.epochs`
    Epochs around onsets, read in batches (step 4).
:mod:`~brainnet.preprocessing.power`
    Band power and its baseline normalisation (steps 5-6).
:mod:`~brainnet.preprocessing.trials`
    Per-trial window values chunk by chunk, and the dropped trials.
:mod:`~brainnet.preprocessing.responsiveness`
    The Wilcoxon and FDR test (step 7).
:mod:`~brainnet.preprocessing.stage`
    :func:`compute_responses`, the stage that runs all the steps (step 8).
:mod:`~brainnet.preprocessing.merge`
    :func:`merge_responses` of several subjects.
"""

import importlib

# Exports load their module on first use (as scipy and MNE do): the settings
# checks that brainnet.config runs before every workflow need no MNE import.
_EXPORTS = {
    "DEFAULT_BANDS": "settings",
    "DEFAULT_WINDOWS": "settings",
    "bipolar_channels": "reference",
    "bipolar_pairs": "reference",
    "compute_responses": "stage",
    "find_bad_channels": "channels",
    "merge_responses": "merge",
    "remove_line_noise": "continuous",
    "sliding_windows": "settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
