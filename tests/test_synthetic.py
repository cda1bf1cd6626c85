"""The synthetic sEEG dataset: BIDS-iEEG written by MNE-BIDS, with a planted ground truth."""

import filecmp
import json

import mne
import mne_bids
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import signal, stats

from brainnet.recordings.synthetic import DEFAULT_REGIONS, TASK, simulate_dataset

pytest.importorskip("pybv")  # MNE-BIDS writes BrainVision through pybv

LAYERS = ["pixels", "conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
N_STIMULI, N_REPETITIONS, N_FEATURES = 40, 3, 3


def _inputs(n_stimuli=N_STIMULI, seed=0):
    """A stimulus table and activations whose layers are independent random features."""
    rng = np.random.default_rng(seed)
    ids = [f"img{k:03d}" for k in range(n_stimuli)]
    stimuli = xr.Dataset(
        coords={
            "stimulus_id": ("stimulus", ids),
            "category": ("stimulus", ["object"] * n_stimuli),
            "path": ("stimulus", [f"{i}.png" for i in ids]),
        }
    )
    activations = xr.Dataset(
        {
            layer: (("stimulus", f"feature_{layer}"), rng.normal(size=(n_stimuli, N_FEATURES)))
            for layer in LAYERS
        },
        coords={"stimulus_id": ("stimulus", ids)},
        attrs={"layers": LAYERS, "model": "alexnet"},
    )
    return stimuli, activations


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    stimuli, activations = _inputs()
    root = tmp_path_factory.mktemp("synthetic") / "bids"
    simulate_dataset(stimuli, activations, root, n_subjects=2, n_repetitions=N_REPETITIONS, seed=3)
    truth = json.loads((root / "derivatives" / "simulation" / "ground_truth.json").read_text())
    subjects = {}
    for subject in ("01", "02"):
        bids_path = mne_bids.BIDSPath(subject=subject, task=TASK, datatype="ieeg", root=root)
        raw = mne_bids.read_raw_bids(bids_path, verbose=False)
        folder = root / f"sub-{subject}" / "ieeg"
        subjects[subject] = {
            "raw": raw,
            "electrodes": pd.read_csv(
                folder / f"sub-{subject}_space-fsaverage_electrodes.tsv", sep="\t"
            ),
            "channels": pd.read_csv(
                folder / f"sub-{subject}_task-{TASK}_channels.tsv", sep="\t", na_filter=False
            ),
            "events": pd.read_csv(folder / f"sub-{subject}_task-{TASK}_events.tsv", sep="\t"),
            "faults": truth["subjects"][f"sub-{subject}"]["bad_channels"],
        }
    return root, stimuli, activations, truth, subjects


# --------------------------------------------------------------------------- files


def test_round_trip_through_mne_bids(dataset):
    _, stimuli, _, truth, subjects = dataset
    ids = set(stimuli["stimulus_id"].values)
    for subject, sub in subjects.items():
        raw, electrodes, channels, events = (
            sub[k] for k in ("raw", "electrodes", "channels", "events")
        )
        # Channels: all sEEG, named shaft + number, in the order of electrodes.tsv.
        assert raw.ch_names == list(electrodes["name"]) == list(channels["name"])
        assert set(raw.get_channel_types()) == {"seeg"}
        assert set(channels["type"]) == {"SEEG"} and set(channels["units"]) == {"µV"}
        assert electrodes["name"].str.fullmatch(r"[LR][A-Z]\d+").all()
        assert (electrodes["name"].str[:2] == electrodes["group"]).all()
        assert len(raw.ch_names) in range(40, 61)
        # Coordinates come back in MNI (mne 'mni_tal') and match the table.
        montage = raw.get_montage().get_positions()
        assert montage["coord_frame"] == "mni_tal"
        xyz = np.array([montage["ch_pos"][n] for n in electrodes["name"]])
        np.testing.assert_allclose(xyz, electrodes[["x", "y", "z"]].to_numpy(), atol=1e-9)
        # Neighbouring contacts of a shaft are 3.5 mm apart.
        for _, shaft in electrodes.groupby("group"):
            steps = np.linalg.norm(np.diff(shaft[["x", "y", "z"]].to_numpy(), axis=0), axis=1)
            np.testing.assert_allclose(steps, 0.0035, atol=1e-4)
        # Region columns follow the ground truth.
        ranks = {name: spec["rank"] for name, spec in truth["regions"].items()}
        assert (electrodes["region_rank"] == electrodes["region"].map(ranks)).all()
        assert (electrodes["region_rank"] == 0).any() and (electrodes["region_rank"] > 0).any()
        # Events: every stimulus n_repetitions times, ids carried by stimulus_id both in
        # events.tsv and in the annotations read back.
        assert set(events["trial_type"]) == {"stimulus"}
        assert (events["stimulus_id"].value_counts() == N_REPETITIONS).all()
        assert set(events["stimulus_id"]) == ids
        extras = [e["stimulus_id"] for e in raw.annotations.extras]
        assert extras == list(events["stimulus_id"])
        np.testing.assert_allclose(raw.annotations.onset, events["onset"])
        np.testing.assert_allclose(raw.annotations.duration, 0.3)
        assert events["onset"].min() >= 1.0
        assert raw.times[-1] - events["onset"].max() >= 1.0
        # Bad channels: the marked one is bad in channels.tsv and in raw; the other is not.
        faults = truth["subjects"][f"sub-{subject}"]["bad_channels"]
        assert sorted(f["kind"] for f in faults) == ["flat", "noisy"]
        assert sum(f["marked"] for f in faults) == 1
        marked = [f["name"] for f in faults if f["marked"]]
        assert raw.info["bads"] == marked
        assert list(channels.loc[channels["status"] == "bad", "name"]) == marked
        assert (channels.loc[channels["status"] == "bad", "status_description"] != "n/a").all()
        # The faults are in the signal, marked or not.
        std = raw.get_data().std(axis=1) * 1e6
        fault = {f["kind"]: raw.ch_names.index(f["name"]) for f in faults}
        assert std[fault["flat"]] < 1.0
        assert std[fault["noisy"]] > 5 * np.median(std)


def test_contacts_lie_in_their_regions(dataset):
    _, _, _, truth, subjects = dataset
    for sub in subjects.values():
        electrodes = sub["electrodes"]
        mirrored = electrodes[["x", "y", "z"]].to_numpy() * 1000  # m -> mm
        mirrored[:, 0] = np.abs(mirrored[:, 0])  # centres are given for the right hemisphere
        centers = {name: np.array(spec["center"]) for name, spec in truth["regions"].items()}
        names = list(centers)
        distance = np.stack([np.linalg.norm(mirrored - centers[n], axis=1) for n in names])
        assert [names[i] for i in distance.argmin(axis=0)] == list(electrodes["region"])
        assert distance.min(axis=0).max() < 25  # mm
        # Left-hemisphere contacts have negative x.
        assert ((electrodes["x"] < 0) == (electrodes["hemisphere"] == "L")).all()
    # Coverage differs between subjects.
    regions = [set(sub["electrodes"]["region"]) for sub in subjects.values()]
    assert regions[0] != regions[1]


def test_bids_layout(dataset):
    root = dataset[0]
    assert mne_bids.get_entity_vals(root, "subject") == ["01", "02"]
    assert mne_bids.get_entity_vals(root, "task") == [TASK]
    assert mne_bids.get_entity_vals(root, "session") == []
    assert mne_bids.get_entity_vals(root, "run") == []
    for subject in ("01", "02"):
        found = mne_bids.BIDSPath(root=root, subject=subject).match(ignore_json=False)
        names = sorted(p.basename for p in found)
        base = f"sub-{subject}_task-{TASK}"
        assert names == sorted(
            [
                f"{base}_channels.tsv",
                f"{base}_events.json",
                f"{base}_events.tsv",
                f"{base}_ieeg.eeg",
                f"{base}_ieeg.json",
                f"{base}_ieeg.vhdr",
                f"{base}_ieeg.vmrk",
                f"sub-{subject}_space-fsaverage_coordsystem.json",
                f"sub-{subject}_space-fsaverage_electrodes.json",
                f"sub-{subject}_space-fsaverage_electrodes.tsv",
                f"sub-{subject}_scans.tsv",
            ]
        )
    for name in ["dataset_description.json", "participants.tsv", "README"]:
        assert (root / name).is_file()
    description = json.loads((root / "dataset_description.json").read_text())
    assert description["DatasetType"] == "raw"
    derivative = root / "derivatives" / "simulation" / "dataset_description.json"
    assert json.loads(derivative.read_text())["DatasetType"] == "derivative"
    report = " ".join(mne_bids.make_report(root, verbose=False).split())
    assert "consists of 2 participants" in report
    assert "iEEG system (Brain Products) sampled at 500.0 Hz with line noise at 50.0 Hz" in report
    assert "(1.0 +/- 0.0 were removed from analysis)" in report  # one marked bad per subject
    sidecar = json.loads((root / "sub-01" / "ieeg" / f"sub-01_task-{TASK}_ieeg.json").read_text())
    assert sidecar["PowerLineFrequency"] == 50 and sidecar["SamplingFrequency"] == 500


# --------------------------------------------------------------------------- signal


def _gamma_epochs(sub, band=(30.0, 150.0)):
    """Gamma power epochs (-0.5 to 0.8 s) of the sound contacts, relative to baseline."""
    faults = [f["name"] for f in sub["faults"]]  # marked or not
    raw = sub["raw"].copy().load_data().drop_channels(faults)
    raw.notch_filter([50.0, 100.0, 150.0], verbose=False)
    raw.filter(*band, verbose=False).apply_hilbert(envelope=True, verbose=False)
    events, event_id = mne.events_from_annotations(raw, verbose=False)
    epochs = mne.Epochs(
        raw, events, event_id, tmin=-0.5, tmax=0.8, baseline=None, preload=True, verbose=False
    )
    power = epochs.get_data() ** 2
    baseline = power[..., (epochs.times >= -0.4) & (epochs.times < -0.1)].mean(axis=(0, 2))
    return power / baseline[None, :, None], epochs.times, epochs.ch_names


def test_gamma_rises_in_visual_contacts_only(dataset):
    subjects = dataset[4]
    for sub in subjects.values():
        power, times, names = _gamma_epochs(sub)
        rank = sub["electrodes"].set_index("name").loc[names, "region_rank"].to_numpy()
        post = power[..., (times >= 0.05) & (times < 0.45)].mean(axis=2)
        base = power[..., (times >= -0.4) & (times < -0.1)].mean(axis=2)
        # Baseline against response window over trials, per contact (Kuzovkin et al. 2018).
        p = stats.wilcoxon(post, base, axis=0, alternative="greater").pvalue
        assert np.all(p[rank > 0] < 1e-4), p[rank > 0]
        assert np.all(post[:, rank > 0].mean(axis=0) > 1.1)
        assert np.sum(p[rank == 0] < 0.01) <= 1, p[rank == 0]
        assert np.all(np.abs(post[:, rank == 0].mean(axis=0) - 1) < 0.1)


def test_gamma_peaks_later_up_the_hierarchy(dataset):
    _, _, _, truth, subjects = dataset
    peaks = {}
    for sub in subjects.values():
        power, times, names = _gamma_epochs(sub)
        rank = sub["electrodes"].set_index("name").loc[names, "region_rank"].to_numpy()
        for r in np.unique(rank[rank > 0]):
            peaks.setdefault(r, []).append(power[:, rank == r].mean(axis=(0, 1)))
    latency = {r: times[np.mean(curves, axis=0).argmax()] for r, curves in sorted(peaks.items())}
    assert list(latency) == [1, 2, 3, 4, 5]
    assert np.all(np.diff(list(latency.values())) > 0), latency
    # The peak comes time_to_peak after each region's latency.
    planted = {s["rank"]: s["latency"] for s in truth["regions"].values() if s["rank"] > 0}
    expected = {r: planted[r] + truth["settings"]["time_to_peak"] for r in latency}
    np.testing.assert_allclose(list(latency.values()), list(expected.values()), atol=0.03)


def test_gamma_follows_the_planted_layer(dataset):
    """Trial-averaged gamma responses of a region are explained best by its own layer."""
    _, stimuli, activations, truth, subjects = dataset
    ids = list(stimuli["stimulus_id"].values)
    fits = {}
    for sub in subjects.values():
        power, times, names = _gamma_epochs(sub)
        window = (times >= 0.1) & (times < 0.4)
        trial = pd.DataFrame(np.log(power[..., window].mean(axis=2)), columns=names)
        mean = trial.groupby(sub["events"]["stimulus_id"].to_numpy()).mean().loc[ids]
        regions = sub["electrodes"].set_index("name").loc[names, "region"]
        for region, spec in truth["regions"].items():
            contacts = list(regions.index[regions == region])
            if spec["rank"] == 0 or not contacts:
                continue
            y = mean[contacts].to_numpy()
            for layer in LAYERS:
                x = np.column_stack([np.ones(len(ids)), activations[layer].values])
                residual = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
                r2 = 1 - residual.var(axis=0) / y.var(axis=0)
                fits.setdefault(region, {}).setdefault(layer, []).extend(r2)
    for region, by_layer in fits.items():
        best = max(by_layer, key=lambda layer: np.mean(by_layer[layer]))
        assert best == truth["regions"][region]["layer"], (region, by_layer)


def test_spectrum_is_sEEG_like(dataset):
    _, _, _, truth, subjects = dataset
    sub = subjects["02"]  # has the V1 shaft, where alpha is strongest
    raw = sub["raw"]
    posterior = sub["electrodes"]["y"].to_numpy() < -0.08
    good = ~np.isin(raw.ch_names, [f["name"] for f in truth["subjects"]["sub-02"]["bad_channels"]])
    freqs, psd = signal.welch(raw.get_data()[posterior & good] * 1e6, 500.0, nperseg=2000)
    psd = np.median(psd, axis=0)

    def at(f):
        return psd[np.argmin(np.abs(freqs - f))]

    # 1/f decay: log-log slope between 2 and 40 Hz (away from alpha and line noise).
    keep = ((freqs >= 2) & (freqs <= 6)) | ((freqs >= 15) & (freqs <= 40))
    slope = np.polyfit(np.log(freqs[keep]), np.log(psd[keep]), 1)[0]
    assert slope < -1.0
    # An alpha peak above the aperiodic trend.
    alpha = truth["subjects"]["sub-02"]["alpha_freq"]
    trend = np.exp(
        np.polyval(np.polyfit(np.log(freqs[keep]), np.log(psd[keep]), 1), np.log(alpha))
    )
    assert at(alpha) > 3 * trend
    # Line noise at 50 Hz and its harmonic.
    for f in (50.0, 100.0):
        assert at(f) > 100 * np.median([at(f - 5), at(f + 5)])


# --------------------------------------------------------------------------- contract


def test_deterministic_for_a_seed(tmp_path):
    stimuli, activations = _inputs(n_stimuli=8)
    settings = {
        "n_subjects": 1,
        "n_repetitions": 1,
        "regions": {k: DEFAULT_REGIONS[k] for k in ("V1", "V2", "frontal")},
    }
    a = simulate_dataset(stimuli, activations, tmp_path / "a", seed=5, **settings)
    b = simulate_dataset(stimuli, activations, tmp_path / "b", seed=5, **settings)
    c = simulate_dataset(stimuli, activations, tmp_path / "c", seed=6, **settings)
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert mismatch == [] and errors == []
    data = "sub-01/ieeg/sub-01_task-images_ieeg.eeg"
    assert not filecmp.cmp(a / data, c / data, shallow=False)
    # An existing dataset is kept unless overwrite is asked for.
    with pytest.raises(FileExistsError, match="overwrite"):
        simulate_dataset(stimuli, activations, a, seed=6, **settings)
    simulate_dataset(stimuli, activations, a, seed=6, overwrite=True, **settings)
    assert filecmp.cmp(a / data, c / data, shallow=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]  # no temporary left


def test_missing_layer_refused(tmp_path):
    stimuli, activations = _inputs(n_stimuli=8)
    regions = dict(DEFAULT_REGIONS)
    v2 = {k: v for k, v in regions["V2"].items() if k != "depth"}
    regions["V2"] = {**v2, "layer": "layer3.1"}
    with pytest.raises(ValueError, match=r"'layer3\.1'.*available layers: \['pixels', 'conv1'"):
        simulate_dataset(stimuli, activations, tmp_path / "bids", regions=regions)
    regions["V2"] = {**regions["V2"], "depth": 0.25}
    with pytest.raises(ValueError, match=r"'V2' needs either a layer or a depth"):
        simulate_dataset(stimuli, activations, tmp_path / "bids", regions=regions)
    regions["V2"] = {**v2, "depth": 1.5}
    with pytest.raises(ValueError, match=r"'V2': depth must lie in \[0, 1\], got 1.5"):
        simulate_dataset(stimuli, activations, tmp_path / "bids", regions=regions)
    assert not (tmp_path / "bids").exists()


@pytest.mark.parametrize(
    ("layers", "planted"),
    [
        (LAYERS, ["conv1", "conv2", "conv3", "conv5", "fc7"]),
        (
            ["pixels", "stem", *(f"stage{k}" for k in range(1, 8)), "head", "fc"],
            ["stem", "stage2", "stage3", "stage5", "head"],
        ),
    ],
)
def test_default_regions_follow_the_reference_models_depth(tmp_path, layers, planted):
    """The default plant is placed by relative depth: AlexNet's layers as they always
    were, and the same stations along any other reference network's own layers."""
    stimuli, activations = _inputs(n_stimuli=8)
    activations = xr.Dataset(
        {
            layer: activations["conv1"].rename({"feature_conv1": f"feature_{layer}"})
            for layer in layers
        },
        attrs={"layers": layers, "model": "net"},
    )
    root = simulate_dataset(stimuli, activations, tmp_path / "bids", n_subjects=2, n_repetitions=1)
    truth = json.loads((root / "derivatives" / "simulation" / "ground_truth.json").read_text())
    visual = sorted((r["rank"], r["layer"]) for r in truth["regions"].values() if r["rank"] > 0)
    assert [layer for _, layer in visual] == planted
    assert truth["layers"] == layers


def test_mismatched_stimulus_ids_refused(tmp_path):
    stimuli, activations = _inputs(n_stimuli=8)
    renamed = stimuli.assign_coords(
        stimulus_id=("stimulus", ["other"] + list(stimuli["stimulus_id"].values[1:]))
    )
    with pytest.raises(ValueError, match=r"only in the table \['other'\].*\['img000'\]"):
        simulate_dataset(renamed, activations, tmp_path / "bids")
    with pytest.raises(ValueError, match=r"only in the activations \['img007'\]"):
        simulate_dataset(stimuli.isel(stimulus=slice(0, 7)), activations, tmp_path / "bids")
    assert not (tmp_path / "bids").exists()


def test_stimulus_order_of_activations_does_not_matter(tmp_path):
    stimuli, activations = _inputs(n_stimuli=8)
    settings = {"n_subjects": 1, "n_repetitions": 1, "seed": 1}
    a = simulate_dataset(stimuli, activations, tmp_path / "a", **settings)
    b = simulate_dataset(
        stimuli, activations.isel(stimulus=slice(None, None, -1)), tmp_path / "b", **settings
    )
    data = "sub-01/ieeg/sub-01_task-images_ieeg.eeg"
    assert filecmp.cmp(a / data, b / data, shallow=False)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"padding": 0.5}, "padding must be at least 1 s"),
        ({"band": [30, 300]}, r"band \[30.0, 300.0\] must lie below the Nyquist"),
        ({"n_contacts": 1}, "n_contacts must be at least 2"),
        ({"isi": [0.9, 0.6]}, "isi must be"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"regions": {"V1": DEFAULT_REGIONS["V1"]}}, "control region"),
        ({"regions": {"V1": {**DEFAULT_REGIONS["V1"], "latency": None}}}, "'V1'.*latency"),
        ({"regions": {"V1": {**DEFAULT_REGIONS["V1"], "size": 3}}}, r"'V1'.*\['size'\]"),
    ],
)
def test_bad_settings_refused(tmp_path, settings, message):
    stimuli, activations = _inputs(n_stimuli=4)
    with pytest.raises(ValueError, match=message):
        simulate_dataset(stimuli, activations, tmp_path / "bids", **settings)


def test_dataset_with_regions_in_its_config_is_read_with_its_planted_regions(dataset):
    # the config's `regions` of a synthetic dataset are the planted ones, not a
    # region-map file: the bridge reads the regions the simulation wrote
    from brainnet.datasets import read_recording

    root, stimuli, _, truth, subjects = dataset
    recordings = {"format": "synthetic", "reference_model": "alexnet", "regions": DEFAULT_REGIONS}
    recording = read_recording(root, "01", stimuli, recordings)
    electrodes = subjects["01"]["electrodes"].set_index("name")
    regions = recording.channels["region"]
    assert (regions == electrodes.loc[regions.index, "region"]).all()
    ranks = {name: spec["rank"] for name, spec in truth["regions"].items()}
    assert (recording.channels["region_rank"] == regions.map(ranks)).all()
