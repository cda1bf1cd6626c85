"""MNE preprocessing on small hand-made recordings with planted effects."""

import json
import logging

import mne
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.signal import butter, sosfiltfilt

from brainnet.io import read_dataset, write_netcdf
from brainnet.preprocessing import (
    bipolar_pairs,
    compute_responses,
    find_bad_channels,
    merge_responses,
    remove_line_noise,
    sliding_windows,
)
from brainnet.responses import average_repetitions

SFREQ = 500.0
N_STIMULI, N_REPS, ISI = 10, 4, 1.5
PLANTED = "LA2"  # both bipolar pairs of this contact carry the gamma burst


def _recording(seed=0, burst_uv=30.0):
    """Shafts LA (gamma burst in LA2), LB (controls), LC (flat LC2, noisy LC3), LD1 (NaN)."""
    rng = np.random.default_rng(seed)
    names = ["LA1", "LA2", "LA3", "LA4", "LB1", "LB2", "LB3", "LB4", "LC1", "LC2", "LC3", "LD1"]
    n_trials = N_STIMULI * N_REPS
    onsets = 2.0 + ISI * np.arange(n_trials)
    n_times = int((onsets[-1] + 2.0) * SFREQ)
    times = np.arange(n_times) / SFREQ
    data = rng.standard_normal((len(names), n_times)) * 10e-6
    data += 20e-6 * np.sin(2 * np.pi * 50 * times)  # line noise on every contact
    burst = np.zeros(n_times, bool)
    for onset in onsets:
        burst |= (times >= onset + 0.1) & (times < onset + 0.4)
    sos = butter(4, [35, 140], btype="band", fs=SFREQ, output="sos")
    gamma = sosfiltfilt(sos, rng.standard_normal(n_times)) * burst_uv * 1e-6
    data[names.index(PLANTED)] += gamma * burst
    data[names.index("LC2")] *= 1e-3
    data[names.index("LC3")] *= 20
    data[names.index("LD1")] = np.nan
    raw = mne.io.RawArray(data, mne.create_info(names, SFREQ, "seeg"), verbose=False)
    order = rng.permuted(np.tile(np.arange(N_STIMULI), (N_REPS, 1)), axis=1).ravel()
    events = pd.DataFrame({"onset": onsets, "stimulus_id": [f"img{k:02d}" for k in order]})
    channels = pd.DataFrame(
        {
            "name": names,
            "region": ["V1"] * 4 + ["frontal"] * 4 + ["V2"] * 3 + ["V1"],
            "region_rank": [1] * 4 + [0] * 4 + [2] * 3 + [1],
            "x": np.arange(len(names), dtype=float),
            "y": 2.0,
            "z": -1.0,
        }
    )
    return raw, events, channels


@pytest.fixture(scope="module")
def planted(caplog_module):
    raw, events, channels = _recording()
    ids = [f"img{k:02d}" for k in range(N_STIMULI)]
    return compute_responses(raw, events, channels, ids, subject="01", line_freq=50)


@pytest.fixture(scope="module")
def caplog_module():
    """Warnings of the brainnet logger during the module-scoped fixture."""
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("brainnet")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_planted_gamma_is_responsive_and_controls_are_not(planted):
    gamma = planted["responsive"].sel(band=["low_gamma", "high_gamma"])
    burst = ["sub-01:LA1-LA2", "sub-01:LA2-LA3"]
    assert gamma.sel(channel=burst).all()
    controls = ["sub-01:LA3-LA4", "sub-01:LB1-LB2", "sub-01:LB2-LB3", "sub-01:LB3-LB4"]
    # FDR control lets about alpha of the discoveries be false: at most a few of the
    # 60 control tests (channels x bands x windows), and none in most gamma tests.
    assert planted["responsive"].sel(channel=controls).mean() <= 0.05
    assert gamma.sel(channel=controls).mean() <= 0.05
    # The burst raises gamma power by several dB on average; controls stay near 0 dB.
    mean = planted["response"].sel(band="high_gamma").mean("stimulus")
    assert (mean.sel(channel=burst) > 3).all()
    assert (abs(mean.sel(channel=controls)) < 1).all()


def test_bad_contacts_are_excluded_with_reasons(planted, caplog_module):
    reasons = {e["channel"]: e["reason"] for e in planted.attrs["exclusions"]}
    assert reasons["LC2"].startswith("flat")
    assert reasons["LC3"].startswith("noisy")
    assert reasons["LD1"] == "all samples are NaN"
    assert "bipolar" in reasons["LC1"]  # both neighbours excluded
    assert set(reasons) == {"LC1", "LC2", "LC3", "LD1"}
    logged = " ".join(r.getMessage() for r in caplog_module)
    for name in reasons:
        assert f"excluding {name}" in logged
    assert not any(name.split(":")[1].startswith("LC") for name in planted["channel"].values)


def test_bipolar_names_and_midpoints(planted):
    assert list(planted["channel"].values) == [
        "sub-01:LA1-LA2", "sub-01:LA2-LA3", "sub-01:LA3-LA4",
        "sub-01:LB1-LB2", "sub-01:LB2-LB3", "sub-01:LB3-LB4",
    ]  # fmt: skip
    np.testing.assert_allclose(planted["x"].values, [0.5, 1.5, 2.5, 4.5, 5.5, 6.5])
    np.testing.assert_allclose(planted["y"].values, 2.0)
    assert list(planted["region"].values) == ["V1"] * 3 + ["frontal"] * 3
    assert list(planted["region_rank"].values) == [1] * 3 + [0] * 3
    assert (planted["subject"].values == "sub-01").all()


def test_layout_and_split_halves(planted):
    assert planted["response"].dims == ("stimulus", "channel", "band", "window")
    assert list(planted["band"].values) == [
        "theta", "alpha", "beta", "low_gamma", "high_gamma"
    ]  # fmt: skip
    assert list(planted["window"].values) == ["50-250", "150-350", "250-450"]
    np.testing.assert_allclose(planted["tmin"].values, [0.05, 0.15, 0.25])
    np.testing.assert_allclose(planted["fmax"].values, [8, 14, 30, 70, 150])
    # Four repetitions: each half averages two, and the mean of the halves is the mean.
    halves = planted["split_half"].mean("half")
    np.testing.assert_allclose(halves.values, planted["response"].values, atol=1e-10)
    assert planted.attrs["settings"]["reference"] == "bipolar"
    assert planted.attrs["n_trials"] == N_STIMULI * N_REPS


def test_round_trip_through_netcdf(planted, tmp_path):
    path = write_netcdf(planted, tmp_path / "responses.nc")
    back = read_dataset(path, required=("response", "responsive", "split_half"))
    xr.testing.assert_identical(back["response"], planted["response"])
    assert back.attrs["exclusions"] == planted.attrs["exclusions"]
    assert back.attrs["settings"]["bands"]["high_gamma"] == [70.0, 150.0]


def _step_sinusoid(freq=110.0, n_trials=12):
    """One contact: a sinusoid whose amplitude doubles from each onset for 1 s."""
    onsets = 2.0 + 2.5 * np.arange(n_trials)
    times = np.arange(int((onsets[-1] + 3) * SFREQ)) / SFREQ
    amplitude = np.full(times.shape, 10e-6)
    for onset in onsets:
        amplitude[(times >= onset) & (times < onset + 1.0)] = 20e-6
    raw = mne.io.RawArray(
        (amplitude * np.sin(2 * np.pi * freq * times))[None],
        mne.create_info(["A1"], SFREQ, "seeg"),
        verbose=False,
    )
    events = pd.DataFrame({"onset": onsets, "stimulus_id": [f"s{i % 3}" for i in range(n_trials)]})
    channels = pd.DataFrame({"name": ["A1"], "region": ["V1"], "region_rank": [1]})
    return raw, events, channels


@pytest.mark.parametrize(("method", "windows", "tolerance"), [
    ("morlet", [[0.15, 0.35], [0.25, 0.45]], 1e-4),
    # The band-pass filter's impulse response is longer: only the late window is clean.
    ("hilbert", [[0.25, 0.45]], 0.05),
])  # fmt: skip
def test_known_window_average(method, windows, tolerance):
    raw, events, channels = _step_sinusoid()
    ds = compute_responses(
        raw, events, channels, subject="x", line_freq=None, reference=None, bad_z=None,
        bands={"high_gamma": [70, 150]}, windows=windows, method=method,
    )  # fmt: skip
    # Doubling the amplitude quadruples the power at every wavelet frequency: 10*log10(4) dB.
    np.testing.assert_allclose(ds["response"].values, 10 * np.log10(4), atol=tolerance)
    assert ds["responsive"].all()


def _amplitude(raw, freq):
    """Amplitude of the sinusoid at ``freq`` (lock-in), away from the filter's edges."""
    inner = slice(int(2 * SFREQ), -int(2 * SFREQ))
    data, times = raw.get_data()[:, inner], raw.times[inner]
    return 2 * np.abs((data * np.exp(-2j * np.pi * freq * times)).mean(axis=1))


def test_notch_removes_line_noise():
    rng = np.random.default_rng(1)
    times = np.arange(int(20 * SFREQ)) / SFREQ
    signal = sum(
        a * 1e-6 * np.sin(2 * np.pi * f * times) for f, a in [(50, 50), (100, 20), (75, 30)]
    )
    data = signal + rng.standard_normal((2, times.size)) * 5e-6
    raw = mne.io.RawArray(data, mne.create_info(["A1", "A2"], SFREQ, "seeg"), verbose=False)
    before = {f: _amplitude(raw, f) for f in (50, 100, 75)}
    remove_line_noise(raw, 50)
    # Line noise and its harmonic drop by more than 40 dB; a 75 Hz rhythm is untouched.
    assert (_amplitude(raw, 50) < before[50] / 100).all()
    assert (_amplitude(raw, 100) < before[100] / 100).all()
    np.testing.assert_allclose(_amplitude(raw, 75), before[75], rtol=0.02)


def test_find_bad_channels_reasons():
    rng = np.random.default_rng(2)
    data = rng.standard_normal((6, 5000)) * 1e-5 * rng.uniform(0.7, 1.4, (6, 1))
    data[1] = 0.0
    data[2] *= 30
    data[3, 100:200] = np.nan
    raw = mne.io.RawArray(data, mne.create_info(list("ABCDEF"), 1000.0, "seeg"), verbose=False)
    bad = find_bad_channels(raw)
    assert list(bad) == ["B", "C", "D"]
    assert bad["B"] == "flat signal (zero variance)"
    assert bad["C"].startswith("noisy")
    assert bad["D"] == "100 of 5000 samples are NaN"
    assert find_bad_channels(raw, bad_z=None).keys() == {"B", "D"}


def test_bipolar_pairs_follow_shafts():
    names = ["LA1", "LA2", "LA3", "LA5", "LA6", "RB10", "RB11", "REF", "RB12"]
    assert bipolar_pairs(names) == [
        ("LA1", "LA2"), ("LA2", "LA3"), ("LA5", "LA6"), ("RB10", "RB11"), ("RB11", "RB12")
    ]  # fmt: skip


def test_sliding_windows():
    assert sliding_windows(0.0, 0.5, 0.2, 0.1) == [
        [0.0, 0.2], [0.1, 0.3], [0.2, 0.4], [0.3, 0.5]
    ]  # fmt: skip
    with pytest.raises(ValueError, match="shorter than one window"):
        sliding_windows(0.0, 0.1, 0.2, 0.1)


def test_average_repetitions_known_values():
    trials = xr.DataArray(
        np.array([[1.0], [2.0], [10.0], [3.0], [np.nan], [5.0]]),
        dims=("trial", "channel"),
        coords={"stimulus_id": ("trial", ["a", "a", "b", "a", "b", "a"])},
    )
    ds = average_repetitions(trials, ["b", "a", "c"])
    np.testing.assert_allclose(ds["response"].values[:, 0], [10.0, 11 / 4, np.nan])
    # Even repetitions of a: 1 and 3; odd: 2 and 5. b's second repetition is missing.
    np.testing.assert_allclose(
        ds["split_half"].values[:, :, 0], [[10.0, 2.0, np.nan], [np.nan, 3.5, np.nan]]
    )
    with pytest.raises(ValueError, match=r"not in the stimulus set: \['b'\]"):
        average_repetitions(trials, ["a"])


def test_unknown_stimulus_refused_by_name():
    raw, events, channels = _step_sinusoid()
    with pytest.raises(ValueError, match=r"not in the stimulus set: \['s2'\]"):
        compute_responses(raw, events, channels, ["s0", "s1"], subject="x")


def test_trial_outside_the_recording_is_dropped_and_recorded():
    raw, events, channels = _step_sinusoid()
    late = pd.DataFrame({"onset": [raw.times[-1] - 0.2], "stimulus_id": ["s0"]})
    ds = compute_responses(
        raw, pd.concat([events, late]), channels, subject="x", line_freq=None, reference=None,
        bad_z=None, bands={"high_gamma": [70, 150]},
    )  # fmt: skip
    assert ds.attrs["n_trials"] == len(events)
    (dropped,) = ds.attrs["dropped_trials"]
    assert dropped["stimulus_id"] == "s0" and "TOO_SHORT" in dropped["reason"]


def test_bad_settings_refused():
    raw, events, channels = _step_sinusoid()
    with pytest.raises(ValueError, match=r"bands\.ultra .*Nyquist"):
        compute_responses(raw, events, channels, subject="x", bands={"ultra": [200, 300]})
    with pytest.raises(ValueError, match="reference must be one of"):
        compute_responses(raw, events, channels, subject="x", reference="laplacian")
    with pytest.raises(ValueError, match=r"not in the recording"):
        compute_responses(
            raw, events, pd.concat([channels, channels.assign(name="Z9")]), subject="x"
        )


def _small(subject, ids):
    channels = ["c1", "c2"]
    data = np.arange(len(ids) * 2.0).reshape(len(ids), 2, 1, 1)
    return xr.Dataset(
        {"response": (("stimulus", "channel", "band", "window"), data),
         "responsive": (("channel", "band", "window"), np.ones((2, 1, 1), bool))},
        coords={"stimulus_id": ("stimulus", ids),
                "channel": [f"{subject}:{c}" for c in channels],
                "subject": ("channel", [subject] * 2), "region": ("channel", ["V1", "V2"]),
                "region_rank": ("channel", [1, 2]), "band": ["high_gamma"],
                "fmin": ("band", [70.0]), "fmax": ("band", [150.0]), "window": ["50-250"],
                "tmin": ("window", [0.05]), "tmax": ("window", [0.25])},
        attrs={"settings": {"reference": "bipolar"}, "exclusions": [], "dropped_trials": []},
    )  # fmt: skip


def test_merge_responses_aligns_stimuli_and_checks_them():
    a, b = _small("sub-01", ["x", "y", "z"]), _small("sub-02", ["z", "x", "y"])
    merged = merge_responses([a, b])
    assert merged.sizes["channel"] == 4
    assert list(merged.attrs["subjects"]) == ["sub-01", "sub-02"]
    # sub-02's rows were reordered to sub-01's stimulus order.
    np.testing.assert_array_equal(
        merged["response"].sel(channel="sub-02:c1").values.ravel(), [2.0, 4.0, 0.0]
    )
    with pytest.raises(ValueError, match=r"missing \['z'\], extra \['w'\]"):
        merge_responses([a, _small("sub-03", ["x", "y", "w"])])
    with pytest.raises(ValueError, match="channel names repeat"):
        merge_responses([a, a])
    other = _small("sub-04", ["x", "y", "z"])
    other.attrs["settings"] = {"reference": "average"}
    with pytest.raises(ValueError, match="other settings"):
        merge_responses([a, other])


# --------------------------------------------------------------------------- acceptance
# On the synthetic BIDS-iEEG dataset (brainnet.recordings.synthetic), read back through
# the BIDS loader: visual contacts carry a gamma-band response, control contacts none.


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    synthetic = pytest.importorskip("brainnet.recordings.synthetic")
    pytest.importorskip("pybv")
    from brainnet.recordings.bids import list_subjects, read_subject

    rng = np.random.default_rng(0)
    ids = [f"stim{k:02d}" for k in range(20)]
    layers = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"]
    activations = xr.Dataset(
        {layer: (("stimulus", f"feature_{layer}"), rng.normal(size=(20, 16))) for layer in layers},
        coords={"stimulus_id": ("stimulus", ids)},
        attrs={"layers": layers, "model": "random"},
    )
    stimuli = xr.Dataset(coords={"stimulus_id": ("stimulus", ids)})
    root = tmp_path_factory.mktemp("synthetic") / "bids"
    synthetic.simulate_dataset(stimuli, activations, root, n_subjects=3, n_repetitions=3, seed=0)
    recordings = [read_subject(root, s, stimulus_ids=ids) for s in list_subjects(root)]
    return root, ids, recordings


def test_synthetic_visual_contacts_respond_in_gamma(synthetic):
    root, ids, recordings = synthetic
    merged = merge_responses([
        compute_responses(r.raw, r.events, r.channels, ids, subject=r.subject)
        for r in recordings
    ])  # fmt: skip
    planted = merged["responsive"].sel(band=["low_gamma", "high_gamma"], window="150-350")
    visual = merged["region_rank"] > 0
    assert planted.where(visual, drop=True).mean() >= 0.9
    # Each test is at FDR 0.05: about 5 % of the control tests may pass by chance.
    assert planted.where(~visual, drop=True).mean() <= 0.1
    # The faulty contacts of the simulation are excluded, whether channels.tsv marks them
    # or only automatic detection can find them, and for the reason planted.
    truth = json.loads((root / "derivatives" / "simulation" / "ground_truth.json").read_text())
    reasons = {(e["subject"], e["channel"]): e["reason"] for e in merged.attrs["exclusions"]}
    for subject, info in truth["subjects"].items():
        for bad in info["bad_channels"]:
            reason = reasons[(subject, bad["name"])]
            assert reason.startswith("marked bad") if bad["marked"] else bad["kind"] in reason


def test_synthetic_peak_latency_follows_the_hierarchy(synthetic):
    _, ids, recordings = synthetic
    windows = sliding_windows(0.0, 0.5, 0.05, 0.01)
    merged = merge_responses([
        compute_responses(r.raw, r.events, r.channels, ids, subject=r.subject,
                          bands={"high_gamma": [70, 150]}, windows=windows)
        for r in recordings
    ])  # fmt: skip
    gamma = merged["response"].isel(band=0).mean("stimulus")
    centre = ((merged["tmin"] + merged["tmax"]) / 2).values
    peak = pd.Series(centre[gamma.argmax("window").values], index=merged["region_rank"].values)
    latency = peak[peak.index > 0].groupby(level=0).median()
    assert list(latency.index) == [1, 2, 3, 4, 5]
    assert latency.is_monotonic_increasing and latency.iloc[-1] > latency.iloc[0]
