"""The settings of :func:`~brainnet.preprocessing.compute_responses`: bands, windows, checks.

Every setting is checked before any signal is read, so that a wrong band or
window stops the run with a message naming it. :mod:`brainnet.config` runs
the same checks on the config before any job (:func:`check_bands`,
:func:`check_windows`, :func:`check_schedule`), naming the config key.
"""

from __future__ import annotations

from collections.abc import Mapping

from brainnet.log import logger

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_WINDOWS",
    "check_bands",
    "check_interval",
    "check_schedule",
    "check_windows",
    "sliding_windows",
]

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
    bands = check_bands(DEFAULT_BANDS if bands is None else bands, sfreq)
    windows = check_windows(DEFAULT_WINDOWS if windows is None else windows)
    baseline = check_interval(baseline, "baseline")
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


def check_interval(edges, key: str) -> tuple[float, float]:
    """``[start, stop]`` as two floats with ``start < stop``; errors name ``key``."""
    try:
        values = tuple(float(v) for v in edges)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{key} must be [start, stop] (two numbers), got {edges!r}") from err
    if len(values) != 2 or not values[0] < values[1]:
        raise ValueError(f"{key} must be [start, stop] with start < stop, got {list(values)}")
    return values


def check_bands(bands, sfreq: float | None, key: str = "bands") -> dict[str, tuple[float, float]]:
    """Bands as ``{name: (fmin, fmax)}``, each inside (0, Nyquist) when ``sfreq`` is known.

    Errors name the band as ``<key>.<name>`` (e.g. ``preprocessing.bands.high_gamma``).
    """
    checked = {}
    for name, edges in bands.items():
        lo, hi = check_interval(edges, f"{key}.{name}")
        if lo <= 0 or (sfreq is not None and hi >= sfreq / 2):
            limit = f"Nyquist ({sfreq / 2:g} Hz)" if sfreq is not None else "Nyquist"
            raise ValueError(f"{key}.{name} ({lo:g}-{hi:g} Hz) must lie between 0 and {limit}")
        checked[str(name)] = (lo, hi)
    if not checked:
        raise ValueError(f"{key} is empty")
    return checked


def check_windows(windows, key: str = "windows") -> dict[str, tuple[float, float]]:
    """Windows as ``{label: (tmin, tmax)}``, labelled ``"50-250"`` (ms) unless named.

    Errors name the window as ``<key>.<label>`` or ``<key>[<position>]``.
    """
    named = isinstance(windows, Mapping)
    items = windows.items() if named else enumerate(windows)
    checked = {}
    for label, edges in items:
        lo, hi = check_interval(edges, f"{key}.{label}" if named else f"{key}[{label}]")
        label = str(label) if named else f"{round(lo * 1000)}-{round(hi * 1000)}"
        if label in checked:
            raise ValueError(f"{key}: window {label!r} appears twice")
        checked[label] = (lo, hi)
    if not checked:
        raise ValueError(f"{key} is empty")
    return checked


def check_schedule(
    windows: Mapping[str, tuple[float, float]],
    baseline: tuple[float, float],
    shortest: float,
    schedule: str,
    key: str = "",
) -> None:
    """Refuse windows that reach the next stimulus and a baseline before the previous one.

    Parameters
    ----------
    windows : dict of str to (tmin, tmax)
        Checked windows (:func:`check_windows`), s from onset.
    baseline : (float, float)
        Checked baseline interval.
    shortest : float
        The shortest interval between consecutive stimulus onsets (s).
    schedule : str
        Where ``shortest`` comes from, for the message.
    key : str
        Prefix of the settings' names in messages (``"preprocessing."``).

    Raises
    ------
    ValueError
        A window that ends after the next onset measures the response to
        the next stimulus; a baseline that starts before the previous onset
        holds the previous stimulus.
    """
    late = {label: hi for label, (_, hi) in windows.items() if hi > shortest}
    if late:
        raise ValueError(
            f"{key}windows {sorted(late)} end {max(late.values()):g} s after onset, past the "
            f"next stimulus: {schedule} has onsets only {shortest:g} s apart. Windows must "
            "end before the next stimulus"
        )
    if -baseline[0] > shortest:
        raise ValueError(
            f"{key}baseline starts {-baseline[0]:g} s before onset, before the previous "
            f"stimulus: {schedule} has onsets only {shortest:g} s apart"
        )
