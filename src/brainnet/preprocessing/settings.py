"""The settings of :func:`~brainnet.preprocessing.compute_responses`: bands, windows, checks.

Every setting is checked before any signal is read, so that a wrong band or
window stops the run with a message naming it.
"""

from __future__ import annotations

from collections.abc import Mapping

from brainnet.log import logger

__all__ = ["DEFAULT_BANDS", "DEFAULT_WINDOWS", "sliding_windows"]

#: Frequency bands of Kuzovkin et al. (2018), Hz.
DEFAULT_BANDS = {
    "theta": (5.0, 8.0),
    "alpha": (9.0, 14.0),
    "beta": (15.0, 30.0),
    "low_gamma": (30.0, 70.0),
    "high_gamma": (70.0, 150.0),
}
#: The three response windows of Kuzovkin et al. (2018), seconds after onset.
DEFAULT_WINDOWS = ((0.05, 0.25), (0.15, 0.35), (0.25, 0.45))

_METHODS = ("morlet", "hilbert")
_REFERENCES = ("bipolar", "average", None)


def sliding_windows(tmin: float, tmax: float, length: float, step: float) -> list[list[float]]:
    """Windows of fixed length sliding from ``tmin`` to ``tmax``.

    Parameters
    ----------
    tmin, tmax : float
        First window start and last window end (s, relative to onset).
    length : float
        Window length (s).
    step : float
        Distance between window starts (s).

    Returns
    -------
    windows : list of [tmin, tmax]
        Usable as the ``windows`` setting of :func:`compute_responses`.
    """
    if length <= 0 or step <= 0:
        raise ValueError(
            f"sliding_windows: length and step must be positive, got {length}, {step}"
        )
    if tmax - tmin < length:
        raise ValueError(
            f"sliding_windows: [{tmin}, {tmax}] is shorter than one window ({length})"
        )
    # Integer microseconds avoid floating-point drift in the window edges.
    start, stop, size, hop = (round(v * 1e6) for v in (tmin, tmax, length, step))
    return [[s / 1e6, (s + size) / 1e6] for s in range(start, stop - size + 1, hop)]


def _options(
    raw, *, line_freq, bands, windows, baseline, reference, method, n_freqs, n_cycles, decim,
    bad_z, alpha,
):  # fmt: skip
    """The checked settings, in the order of the result's ``settings`` attribute.

    Bands and windows become dicts of ``(lo, hi)`` floats, the baseline a pair
    of floats, ``line_freq`` and ``decim`` their resolved values.
    """
    sfreq = raw.info["sfreq"]
    bands = _check_bands(DEFAULT_BANDS if bands is None else bands, sfreq)
    windows = _check_windows(DEFAULT_WINDOWS if windows is None else windows)
    baseline = _check_interval(baseline, "baseline")
    if reference not in _REFERENCES:
        raise ValueError(f"reference must be one of {_REFERENCES}, got {reference!r}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if int(n_freqs) != n_freqs or n_freqs < 1:
        raise ValueError(f"n_freqs must be a positive integer, got {n_freqs!r}")
    line_freq = _line_freq(raw, line_freq)
    decim = max(1, int(sfreq // 200)) if decim is None else int(decim)
    return {
        "line_freq": line_freq,
        "bands": bands,
        "windows": windows,
        "baseline": baseline,
        "reference": reference,
        "method": method,
        "n_freqs": n_freqs,
        "n_cycles": n_cycles,
        "decim": decim,
        "bad_z": bad_z,
        "alpha": alpha,
    }


def _settings_attr(options):
    """The checked settings as stored in the ``settings`` attribute (lists, not tuples)."""
    return options | {
        "bands": {name: list(edges) for name, edges in options["bands"].items()},
        "windows": {label: list(edges) for label, edges in options["windows"].items()},
        "baseline": list(options["baseline"]),
    }


def _subject_label(raw, subject):
    if subject is None:
        subject = (raw.info.get("subject_info") or {}).get("his_id")
    if not subject:
        raise ValueError("subject is not given and raw.info['subject_info'] has no 'his_id'")
    subject = str(subject)
    return subject if subject.startswith("sub-") else f"sub-{subject}"


def _line_freq(raw, line_freq):
    if line_freq == "auto":
        line_freq = raw.info.get("line_freq")
        if line_freq is None:
            logger.warning("line frequency unknown (no PowerLineFrequency): assuming 50 Hz")
            line_freq = 50.0
    if line_freq is not None and line_freq <= 0:
        raise ValueError(f"line_freq must be positive, 'auto' or None, got {line_freq}")
    return None if line_freq is None else float(line_freq)


def _check_interval(edges, what):
    edges = tuple(float(v) for v in edges)
    if len(edges) != 2 or not edges[0] < edges[1]:
        raise ValueError(f"{what} must be [start, stop] with start < stop, got {list(edges)}")
    return edges


def _check_bands(bands, sfreq):
    checked = {}
    for name, edges in bands.items():
        lo, hi = _check_interval(edges, f"band {name!r}")
        if lo <= 0 or hi >= sfreq / 2:
            raise ValueError(
                f"band {name!r} ({lo}-{hi} Hz) must lie between 0 and Nyquist ({sfreq / 2} Hz)"
            )
        checked[str(name)] = (lo, hi)
    if not checked:
        raise ValueError("bands is empty")
    return checked


def _check_windows(windows):
    items = windows.items() if isinstance(windows, Mapping) else ((None, w) for w in windows)
    checked = {}
    for label, edges in items:
        lo, hi = _check_interval(edges, f"window {label or list(edges)}")
        label = str(label) if label is not None else f"{round(lo * 1000)}-{round(hi * 1000)}"
        if label in checked:
            raise ValueError(f"window {label!r} appears twice")
        checked[label] = (lo, hi)
    if not checked:
        raise ValueError("windows is empty")
    return checked
