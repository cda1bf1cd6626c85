"""BIDS-iEEG loader: round trip through MNE-BIDS and refusal of bad input."""

import json
import shutil

import mne
import mne_bids
import numpy as np
import pandas as pd
import pytest
from scipy.signal import butter, sosfiltfilt

from brainnet.preprocessing import compute_responses
from brainnet.recordings.bids import list_subjects, read_region_map, read_subject

pytest.importorskip("pybv")  # MNE-BIDS writes BrainVision through pybv

SFREQ = 500.0
NAMES = ["LO1", "LO2", "LO3", "RT1", "RT2", "RT3"]
REGIONS = {"LO": ("V1", 1), "RT": ("fusiform-IT", 4)}
STIMULI = [f"img{k}" for k in range(6)]


def _write_subject(root, subject, seed):
    """Six contacts on two shafts; LO2 carries a gamma burst after every onset."""
    rng = np.random.default_rng(seed)
    onsets = 2.0 + 1.5 * np.arange(4 * len(STIMULI))
    times = np.arange(int((onsets[-1] + 2) * SFREQ)) / SFREQ
    data = rng.standard_normal((len(NAMES), times.size)) * 10e-6
    burst = np.zeros(times.size, bool)
    for onset in onsets:
        burst |= (times >= onset + 0.1) & (times < onset + 0.4)
    sos = butter(4, [40, 140], btype="band", fs=SFREQ, output="sos")
    data[1] += sosfiltfilt(sos, rng.standard_normal(times.size)) * 40e-6 * burst
    raw = mne.io.RawArray(data, mne.create_info(NAMES, SFREQ, "seeg"), verbose=False)
    raw.info["line_freq"] = 50
    raw.info["bads"] = ["RT3"]
    order = rng.permuted(np.tile(np.arange(len(STIMULI)), (4, 1)), axis=1).ravel()
    raw.set_annotations(
        mne.Annotations(
            onsets, 0.3, "stimulus", extras=[{"stimulus_id": STIMULI[k]} for k in order]
        )
    )
    positions = {n: np.array([10.0 + i, -80.0, 5.0]) / 1000 for i, n in enumerate(NAMES)}
    montage = mne.channels.make_dig_montage(ch_pos=positions, coord_frame="mni_tal")
    path = mne_bids.BIDSPath(subject=subject, task="images", datatype="ieeg", root=root)
    mne_bids.write_raw_bids(
        raw, path, event_id={"stimulus": 1}, format="BrainVision", allow_preload=True,
        montage=montage, verbose=False,
    )  # fmt: skip
    electrodes = next((root / f"sub-{subject}" / "ieeg").glob("*_electrodes.tsv"))
    table = pd.read_csv(electrodes, sep="\t", dtype=str, keep_default_na=False)
    table["region"] = [REGIONS[n[:2]][0] for n in table["name"]]
    table["region_rank"] = [str(REGIONS[n[:2]][1]) for n in table["name"]]
    table.to_csv(electrodes, sep="\t", index=False)
    channels = root / f"sub-{subject}" / "ieeg" / f"sub-{subject}_task-images_channels.tsv"
    table = pd.read_csv(channels, sep="\t", dtype=str, keep_default_na=False)
    table.loc[table["name"] == "RT3", "status_description"] = "broken wire"
    table.to_csv(channels, sep="\t", index=False)
    return raw


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("bids") / "ds"
    raws = {sub: _write_subject(root, sub, seed) for seed, sub in enumerate(["01", "02"])}
    return root, raws


@pytest.fixture
def copy(dataset, tmp_path):
    """A private copy of the dataset to damage."""
    root = tmp_path / "ds"
    shutil.copytree(dataset[0], root)
    return root


def _files(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_round_trip(dataset):
    root, raws = dataset
    assert list_subjects(root) == ["01", "02"]
    rec = read_subject(root, "01", stimulus_ids=STIMULI)
    assert rec.subject == "sub-01"
    np.testing.assert_allclose(rec.raw.get_data(), raws["01"].get_data(), atol=1e-7)
    assert rec.raw.info["sfreq"] == SFREQ and rec.raw.info["line_freq"] == 50
    stim = rec.events.dropna(subset=["stimulus_id"])
    np.testing.assert_allclose(stim["onset"], raws["01"].annotations.onset)
    assert list(stim["stimulus_id"]) == [e["stimulus_id"] for e in raws["01"].annotations.extras]
    assert list(rec.channels.index) == NAMES
    assert list(rec.channels["region"]) == ["V1"] * 3 + ["fusiform-IT"] * 3
    assert list(rec.channels["region_rank"]) == [1] * 3 + [4] * 3
    np.testing.assert_allclose(rec.channels["x"], 10.0 + np.arange(6))  # metres -> mm
    assert rec.channels.loc["RT3", "status"] == "bad"
    assert rec.files["events"].name == "sub-01_task-images_events.tsv"


def test_recording_to_responses(dataset):
    rec = read_subject(dataset[0], "02")
    ds = compute_responses(rec.raw, rec.events, rec.channels, STIMULI, subject=rec.subject)
    assert list(ds["channel"].values) == [
        "sub-02:LO1-LO2", "sub-02:LO2-LO3", "sub-02:RT1-RT2"
    ]  # fmt: skip
    assert ds.attrs["settings"]["line_freq"] == 50  # from the BIDS sidecar
    reasons = {e["channel"]: e["reason"] for e in ds.attrs["exclusions"]}
    assert reasons["RT3"] == "marked bad: broken wire"
    hg = ds["responsive"].sel(band="high_gamma", window="150-350")
    assert list(hg.values) == [True, True, False]
    np.testing.assert_allclose(ds["z"].values, 5.0)


def test_missing_events_refused(copy):
    events = copy / "sub-01" / "ieeg" / "sub-01_task-images_events.tsv"
    events.unlink()
    before = _files(copy)
    with pytest.raises(FileNotFoundError, match="events file not found: .*sub-01_task-images"):
        read_subject(copy, "01")
    assert _files(copy) == before  # nothing written, nothing half-written


def test_unknown_stimulus_refused(dataset):
    with pytest.raises(ValueError, match=r"events.tsv: 2 stimulus ids .*\['img4', 'img5'\]"):
        read_subject(dataset[0], "01", stimulus_ids=STIMULI[:4])


def test_sampling_rate_mismatch_refused(copy):
    sidecar = copy / "sub-01" / "ieeg" / "sub-01_task-images_ieeg.json"
    meta = json.loads(sidecar.read_text())
    meta["SamplingFrequency"] = 1000.0
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"ieeg.json says 1000.0 Hz, .*ieeg.vhdr holds 500.0 Hz"):
        read_subject(copy, "01")


def _drop_region_columns(root, subject="01"):
    electrodes = next((root / f"sub-{subject}" / "ieeg").glob("*_electrodes.tsv"))
    table = pd.read_csv(electrodes, sep="\t", dtype=str, keep_default_na=False)
    table.drop(columns=["region", "region_rank"]).to_csv(electrodes, sep="\t", index=False)


def test_contact_without_region(copy, tmp_path):
    _drop_region_columns(copy)
    with pytest.raises(ValueError, match=r"6 contacts have no region .*\['LO1', 'LO2'"):
        read_subject(copy, "01")
    mapping = tmp_path / "regions.tsv"
    pd.DataFrame(
        {
            "subject": ["", "", "sub-01"],
            "name": ["LO1", "LO2", "LO1"],
            "region": ["V2", "V2", "V1"],
            "region_rank": [2, 2, 1],
        }
    ).to_csv(mapping, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"4 contacts have no region \(from the region mapping"):
        read_subject(copy, "01", regions=mapping)
    rec = read_subject(copy, "01", regions=mapping, missing_region="exclude")
    # The subject's own row wins over the row for every subject.
    assert rec.channels.loc["LO1", "region"] == "V1" and rec.channels.loc["LO2", "region"] == "V2"
    assert (rec.channels.loc["LO3":, "status_description"] == "no region assigned").all()
    ds = compute_responses(rec.raw, rec.events, rec.channels, subject=rec.subject)
    assert list(ds["channel"].values) == ["sub-01:LO1-LO2"]
    assert list(ds["region"].values) == ["V2"]  # the pair takes the higher-ranked region
    reasons = {e["channel"]: e["reason"] for e in ds.attrs["exclusions"]}
    assert reasons["RT1"] == "marked bad: no region assigned"


def test_region_map_validation(tmp_path):
    path = tmp_path / "regions.tsv"
    pd.DataFrame({"name": ["A1"], "region": ["V1"]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"regions.tsv lacks columns \['region_rank'\]"):
        read_region_map(path)
    pd.DataFrame({"name": ["A1", "A2"], "region": ["V1", "V2"], "region_rank": [1, "x"]}).to_csv(
        path, sep="\t", index=False
    )
    with pytest.raises(ValueError, match=r"non-negative integer.*A2 \('x'\)"):
        read_region_map(path)
    pd.DataFrame({"name": ["A1", "A1"], "region": ["V1", "V2"], "region_rank": [1, 2]}).to_csv(
        path, sep="\t", index=False
    )
    with pytest.raises(ValueError, match="repeats"):
        read_region_map(path)


def test_missing_subject_and_root(dataset, tmp_path):
    with pytest.raises(FileNotFoundError, match="no iEEG recording for sub-07"):
        read_subject(dataset[0], "07")
    with pytest.raises(FileNotFoundError, match="BIDS root not found"):
        list_subjects(tmp_path / "nowhere")


def test_trial_figure(dataset, tmp_path):
    from brainnet.plots.signals import plot_trial

    rec = read_subject(dataset[0], "01")
    fig = plot_trial(rec.raw, rec.events, rec.channels, trial=3, path=tmp_path / "trial.png")
    assert (tmp_path / "trial.png").stat().st_size > 10_000
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    # The lowest visual rank (V1) on top, the highest (fusiform-IT) below.
    assert titles[0] == "LO1-LO2  (V1, rank 1)" and titles[3] == "RT1-RT2  (fusiform-IT, rank 4)"
    assert fig.axes[0].get_ylabel() == "Voltage (µV)"
    assert fig.axes[0].get_xlim()[0] == pytest.approx(-0.5, abs=0.01)
    with pytest.raises(ValueError, match="trial 99 is out of range: there are 24 trials"):
        plot_trial(rec.raw, rec.events, rec.channels, trial=99)
