"""The bad-input contract (issue 12): refused by name before work, or analysed and recorded.

One test (or more) per numbered case of the issue, grouped by the stage that
handles it: configuration, stimuli, recordings, preprocessing, assembly of
the responses, and writing artefacts. A case is either refused with a message
naming the file, key or id at fault, or analysed correctly with what was
dropped logged and kept in the artefact's attributes.
"""

import errno
import io
import logging
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import mne
import mne_bids
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from PIL import Image

from brainnet.config import ConfigError, check_config, load_config
from brainnet.datasets import brain_rdms
from brainnet.encoding import fit_encoding
from brainnet.io import write_netcdf
from brainnet.join import shared_stimuli
from brainnet.preprocessing import compute_responses, find_bad_channels, merge_responses
from brainnet.recordings.arrays import load_array
from brainnet.recordings.bids import read_subject
from brainnet.recordings.rdms import load_rdm_npz
from brainnet.responses import average_repetitions
from brainnet.stimuli import build_stimuli, load_image, stimulus_table

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"
SFREQ = 500.0


def _config(**recordings):
    """A valid synthetic config, its recordings section updated."""
    return {
        "datasets": {
            "syn": {
                "stimuli": {"source": "embedded"},
                "recordings": {"format": "synthetic", "reference_model": "alex", **recordings},
            }
        },
        "models": {"alex": {"arch": "alexnet"}},
    }


def _check(config):
    return check_config(config, SCHEMA)


@pytest.fixture
def warnings_logged(caplog, monkeypatch):
    """Records of the brainnet logger at WARNING and above during a test (caught on the
    logger itself: Snakemake's logging setup can stop them reaching the root logger)."""
    logger = logging.getLogger("brainnet")
    monkeypatch.setattr(logger, "handlers", [*logger.handlers, caplog.handler])
    caplog.set_level(logging.WARNING, logger="brainnet")
    return caplog


# --------------------------------------------------------------------------- configuration


def test_8_repeated_yaml_key_is_refused_with_file_key_and_line(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "datasets:\n  syn:\n    stimuli: {source: embedded}\n"
        "    recordings: {format: synthetic, reference_model: alexnet}\n"
        "models:\n  alexnet: {arch: alexnet}\n  alexnet: {arch: resnet18}\n"
    )
    with pytest.raises(ConfigError, match=r"run\.yaml, line 7: key 'alexnet' appears twice"):
        load_config(path, SCHEMA)
    # the files Snakemake parsed itself are read again by check_config
    with pytest.raises(ConfigError, match=r"line 7: key 'alexnet'.*first on line 6"):
        check_config(yaml.safe_load(path.read_text()), SCHEMA, files=[path])


def test_8_repeated_yaml_key_stops_the_workflow_before_any_job(tmp_path):
    shutil.copy(ROOT / "Snakefile", tmp_path)
    for folder in ("config", "workflow"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    text = yaml.safe_dump(_config()) + "datasets: {}\n"  # a second datasets key
    (tmp_path / "dup.yaml").write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", "dup.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "key 'datasets' appears twice" in result.stderr + result.stdout


def test_9_rdm_dataset_without_regions_is_refused_by_key():
    config = _config()
    config["datasets"]["mine"] = {
        "stimuli": {"source": "folder", "path": "/x"},
        "recordings": {"format": "rdm", "path": "/x/rdms.npz"},
    }
    with pytest.raises(ConfigError, match=r"datasets\.mine\.recordings lacks \['region', "):
        _check(config)


def test_10_npy_rdms_need_a_stimulus_list_key():
    config = _config()
    config["datasets"]["mine"] = {
        "stimuli": {"source": "folder", "path": "/x"},
        "recordings": {"format": "rdm", "path": "/x/rdms.npy", "region": "IT", "region_rank": 4},
    }
    with pytest.raises(ConfigError, match=r"datasets\.mine\.recordings\.stimuli is required"):
        _check(config)
    config["datasets"]["mine"]["recordings"]["stimuli"] = "/x/ids.txt"
    _check(config)


@pytest.mark.parametrize(
    ("preprocessing", "recordings", "message"),
    [
        ({"bands": {"high_gamma": [150, 70]}}, {}, r"preprocessing\.bands\.high_gamma .*start"),
        ({"windows": [[0.05, 0.25], [0.3, 0.1]]}, {}, r"preprocessing\.windows\[1\]"),
        ({"windows": {"late": [0.3, 0.1]}}, {}, r"preprocessing\.windows\.late"),
        ({"baseline": [-0.1, -0.5]}, {}, r"preprocessing\.baseline"),
        (
            {"bands": {"high_gamma": [70, 300]}},
            {},
            r"preprocessing\.bands\.high_gamma \(70-300 Hz\).*Nyquist \(250 Hz\) of "
            r"datasets\.syn\.recordings",
        ),
        (
            {},
            {"sfreq": 200.0, "band": [30, 90]},
            r"preprocessing\.bands\.high_gamma \(70-150 Hz\).*100 Hz",
        ),
        ({}, {"band": [30, 300]}, r"datasets\.syn\.recordings\.band"),
    ],
)
def test_11_inverted_band_or_window_and_band_above_nyquist_name_the_key(
    preprocessing, recordings, message
):
    config = _config(**recordings)
    config["preprocessing"] = preprocessing
    with pytest.raises(ConfigError, match=message):
        _check(config)


def test_3_window_past_the_next_stimulus_is_refused_by_key():
    # the synthetic schedule: onsets at least duration + isi[0] = 0.3 + 0.6 s apart
    config = _config()
    config["preprocessing"] = {"windows": [[2.0, 3.0]]}
    with pytest.raises(ConfigError, match=r"preprocessing\.windows \['2000-3000'\].*0\.9 s"):
        _check(config)
    config = _config()
    config["preprocessing"] = {"baseline": [-1.0, -0.1]}
    with pytest.raises(ConfigError, match=r"preprocessing\.baseline .*previous stimulus"):
        _check(config)


def test_12_a_single_synthetic_subject_is_refused_by_key():
    with pytest.raises(ConfigError, match=r"datasets\.syn\.recordings\.n_subjects is 1"):
        _check(_config(n_subjects=1))
    _check(_config(n_subjects=2))


def test_13_no_permutations_is_refused_and_too_few_are_warned(warnings_logged):
    config = _config()
    config["encoding"] = {"n_permutations": 0}
    with pytest.raises(ConfigError, match=r"encoding\.n_permutations is 0"):
        _check(config)
    config = _config()
    config["rsa"] = {"n_permutations": 100}  # smallest p 1/101 > alpha 0.001
    _check(config)
    logged = " ".join(r.getMessage() for r in warnings_logged.records)
    assert "rsa.n_permutations is 100" in logged and "use at least 999" in logged


# --------------------------------------------------------------------------- stimuli


def _png(path, value=128, size=8):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), (value,) * 3).save(path)
    return path


def test_4_jpeg_with_damaged_data_stops_the_run_naming_it(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "set").mkdir()
    for name in ("a", "b"):
        pixels = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / "set" / f"{name}.jpg", quality=90)
    damaged = bytearray((tmp_path / "set" / "b.jpg").read_bytes())
    middle = len(damaged) // 2
    damaged[middle : middle + 200] = bytes(200)
    (tmp_path / "set" / "b.jpg").write_bytes(damaged)
    with Image.open(tmp_path / "set" / "b.jpg") as img:
        img.load()  # Pillow alone decodes it into a garbled image without complaint
    with pytest.raises(ValueError, match=r"b: cannot read stimulus image .*b\.jpg.*Corrupt JPEG"):
        build_stimuli("folder", tmp_path / "out", path=tmp_path / "set")
    load_image(tmp_path / "set" / "a.jpg")  # the intact one reads


def test_5_sixteen_bit_images_keep_their_relative_brightness(tmp_path):
    ramp = np.linspace(0, 1, 64).reshape(8, 8)
    Image.fromarray((ramp * 65535).astype(np.uint16)).save(tmp_path / "bright.png")
    Image.fromarray((ramp * 16383).astype(np.uint16)).save(tmp_path / "dim.png")
    bright = np.asarray(load_image(tmp_path / "bright.png"))[..., 0].astype(float)
    dim = np.asarray(load_image(tmp_path / "dim.png"))[..., 0].astype(float)
    assert bright.max() == 255 and dim.max() == round(16383 / 257)
    np.testing.assert_allclose(dim.mean() / bright.mean(), 0.25, atol=0.01)
    Image.fromarray(np.full((8, 8), 2.5, np.float32)).save(tmp_path / "float.tiff")
    with pytest.raises(ValueError, match=r"float\.tiff.*outside 0-1"):
        load_image(tmp_path / "float.tiff")


def test_6_ids_that_differ_by_surrounding_spaces_are_one_stimulus(tmp_path, warnings_logged):
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png")
    (tmp_path / "m.csv").write_text("stimulus_id,path\n face01 ,a.png\nface02,b.png\n")
    table = build_stimuli("csv", tmp_path / "out", path=tmp_path / "m.csv")
    assert list(table["stimulus_id"].values) == ["face01", "face02"]
    assert "removed the spaces around 1 stimulus ids: [\"' face01 '\"]" in " ".join(
        r.getMessage() for r in warnings_logged.records
    )
    (tmp_path / "m.csv").write_text("stimulus_id,path\nface01,a.png\nface01 ,b.png\n")
    with pytest.raises(ValueError, match=r"duplicate stimulus_id.*'face01' \(2 times\)"):
        build_stimuli("csv", tmp_path / "out", path=tmp_path / "m.csv")
    # the recordings side: an id written with spaces joins its image
    np.save(tmp_path / "values.npy", np.arange(6.0).reshape(2, 3))
    pd.DataFrame({"name": list("xyz"), "region": "V4"}).to_csv(
        tmp_path / "channels.tsv", sep="\t", index=False
    )
    (tmp_path / "ids.csv").write_text("stimulus_id\nface02 \n face01\n")
    responses = load_array(
        tmp_path / "values.npy", tmp_path / "channels.tsv", tmp_path / "ids.csv",
        stimulus_ids=["face01", "face02"],
    )  # fmt: skip
    np.testing.assert_array_equal(responses["response"].values[:, 0, 0, 0], [3.0, 0.0])


def test_17_manifest_paths_must_stay_inside_its_folder(tmp_path):
    _png(tmp_path / "secret.png")  # exists and is an image: refused for where it is
    _png(tmp_path / "set" / "a.png")
    manifest = tmp_path / "set" / "m.csv"
    manifest.write_text("stimulus_id,path\na,a.png\nb,../secret.png\n")
    with pytest.raises(ValueError, match=r"m\.csv, row 3: path '\.\./secret\.png' is not inside"):
        build_stimuli("csv", tmp_path / "out", path=manifest)
    manifest.write_text(f"stimulus_id,path\na,{tmp_path / 'secret.png'}\n")
    with pytest.raises(ValueError, match="row 2: path .*secret.png' is not inside"):
        build_stimuli("csv", tmp_path / "out", path=manifest)
    manifest.write_text("stimulus_id,path\na,sub/../a.png\n")  # stays inside: fine
    assert build_stimuli("csv", tmp_path / "out", path=manifest).sizes["stimulus"] == 1


def test_18_zip_stem_clash_is_refused_before_anything_is_extracted(tmp_path):
    _png(tmp_path / "x.png", 10)
    _png(tmp_path / "y.png", 200)
    with zipfile.ZipFile(tmp_path / "images.zip", "w") as zf:
        zf.write(tmp_path / "x.png", "day1/img1.png")
        zf.write(tmp_path / "y.png", "day2/img1.png")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"img1: \['day1/img1\.png', 'day2/img1\.png'\]"):
        build_stimuli("zip", out, path=tmp_path / "images.zip")
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    # a corrupt member leaves no extracted folder behind either
    with zipfile.ZipFile(tmp_path / "images.zip", "w") as zf:
        zf.write(tmp_path / "x.png", "img1.png")
        zf.writestr("img2.png", b"not an image")
    with pytest.raises(ValueError, match=r"img2: cannot read stimulus image"):
        build_stimuli("zip", out, path=tmp_path / "images.zip")
    assert not out.exists() and not list(tmp_path.glob(".out*"))


@pytest.mark.parametrize("row", ["b,b.png,extra", "b"])
def test_19_ragged_csv_names_the_file_and_line(tmp_path, row):
    _png(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text(f"stimulus_id,path\na,a.png\n{row}\n")
    with pytest.raises(ValueError, match=r"m\.csv: rows must have the 2 fields.*line 3 has"):
        build_stimuli("csv", tmp_path / "out", path=tmp_path / "m.csv")


# --------------------------------------------------------------------------- recordings


@pytest.fixture(scope="module")
def bids_root(tmp_path_factory):
    """One subject, six contacts on two shafts, twelve presentations 1.5 s apart."""
    root = tmp_path_factory.mktemp("bids") / "ds"
    names = ["LO1", "LO2", "LO3", "RT1", "RT2", "RT3"]
    onsets = 1.0 + 1.5 * np.arange(12)
    data = np.random.default_rng(0).standard_normal((6, int(20 * SFREQ))) * 1e-5
    raw = mne.io.RawArray(data, mne.create_info(names, SFREQ, "seeg"), verbose=False)
    raw.set_annotations(
        mne.Annotations(
            onsets, 0.3, "stimulus", extras=[{"stimulus_id": f"s{i % 3}"} for i in range(12)]
        )
    )
    positions = {n: np.array([10.0 + i, -80.0, 5.0]) / 1000 for i, n in enumerate(names)}
    montage = mne.channels.make_dig_montage(ch_pos=positions, coord_frame="mni_tal")
    path = mne_bids.BIDSPath(subject="01", task="images", datatype="ieeg", root=root)
    mne_bids.write_raw_bids(
        raw, path, event_id={"stimulus": 1}, format="BrainVision", allow_preload=True,
        montage=montage, verbose=False,
    )  # fmt: skip
    electrodes = next((root / "sub-01" / "ieeg").glob("*_electrodes.tsv"))
    table = pd.read_csv(electrodes, sep="\t", dtype=str, keep_default_na=False)
    table["region"] = ["V1"] * 3 + ["IT"] * 3
    table["region_rank"] = ["1"] * 3 + ["4"] * 3
    table.to_csv(electrodes, sep="\t", index=False)
    return root


def test_2_fractional_region_rank_in_electrodes_tsv_is_refused(bids_root, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(bids_root, root)
    electrodes = next((root / "sub-01" / "ieeg").glob("*_electrodes.tsv"))
    table = pd.read_csv(electrodes, sep="\t", dtype=str, keep_default_na=False)
    table.loc[table["name"] == "RT2", "region_rank"] = "2.7"
    table.to_csv(electrodes, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"electrodes\.tsv: region_rank must be a non-negative"
                       r" integer; 1 contacts are not: \[\"RT2 \('2\.7'\)\"\]"):  # fmt: skip
        read_subject(root, "01")
    assert read_subject(bids_root, "01").channels["region_rank"].tolist() == [1, 1, 1, 4, 4, 4]


def _bids_config(root, preprocessing):
    config = _config()
    config["datasets"] = {
        "real": {
            "stimuli": {"source": "embedded"},
            "recordings": {"format": "bids", "path": str(root)},
        }
    }
    config["preprocessing"] = preprocessing
    return config


def test_11_band_above_the_nyquist_of_a_bids_sidecar_is_refused_by_key(bids_root):
    with pytest.raises(ConfigError, match=r"bands\.high_gamma \(70-300 Hz\).*250 Hz.*sub-01"):
        _check(_bids_config(bids_root, {"bands": {"high_gamma": [70, 300]}}))


def test_3_window_past_the_next_bids_event_is_refused_by_key(bids_root):
    with pytest.raises(ConfigError, match=r"preprocessing\.windows \['1000-2000'\].*1\.5 s apart"):
        _check(_bids_config(bids_root, {"windows": [[1.0, 2.0]]}))
    _check(_bids_config(bids_root, {"windows": [[0.05, 0.25]]}))


def _rdms(k, n, seed=0):
    points = np.random.default_rng(seed).standard_normal((k, n, 3))
    return np.linalg.norm(points[:, :, None] - points[:, None], axis=-1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.__setitem__(1, -r[1]), r"RDM 1 \(02:IT\) holds negative dissimilarities"),
        (lambda r: r.__setitem__(0, 0.0), r"RDM 0 \(01:IT\) is constant \(every dissimilarity"),
    ],
)
def test_7_negative_or_constant_rdms_are_refused_by_name(tmp_path, change, message):
    rdms = _rdms(2, 5)
    change(rdms)
    np.savez(tmp_path / "mine.npz", rdms=rdms, stimulus_id=np.array(list("abcde")))
    with pytest.raises(ValueError, match=r"mine\.npz: " + message):
        load_rdm_npz(tmp_path / "mine.npz", region="IT", region_rank=4)


def test_10_npy_rdm_rows_take_their_ids_from_the_stimuli_key(tmp_path):
    np.save(tmp_path / "rdms.npy", _rdms(2, 4))
    (tmp_path / "ids.txt").write_text("c\na\nd\nb\n")
    table = stimulus_table(list("cadb"), [tmp_path / f"{s}.png" for s in "cadb"])
    recordings = {
        "format": "rdm", "path": str(tmp_path / "rdms.npy"), "region": "IT", "region_rank": 4,
        "stimuli": str(tmp_path / "ids.txt"),
    }  # fmt: skip
    ds = brain_rdms(table, recordings)
    assert list(ds["stimulus_id"].values) == list("cadb")
    np.testing.assert_allclose(ds["rdm"].values, _rdms(2, 4))
    (tmp_path / "ids.txt").write_text("c\na\nb\nd\n")  # another order: refused, not reordered
    with pytest.raises(ValueError, match="same ids in another order"):
        brain_rdms(table, recordings)


# --------------------------------------------------------------------------- preprocessing


def _shafts(seed=0):
    """Two shafts of six contacts, 30 trials 1.2 s apart; every contact a little different."""
    rng = np.random.default_rng(seed)
    names = [f"LA{i}" for i in range(1, 7)] + [f"LB{i}" for i in range(1, 7)]
    onsets = 1.0 + 1.2 * np.arange(30)
    n_times = int((onsets[-1] + 1.5) * SFREQ)
    data = rng.standard_normal((12, n_times)) * 1e-5 * rng.uniform(0.9, 1.1, (12, 1))
    raw = mne.io.RawArray(data, mne.create_info(names, SFREQ, "seeg"), verbose=False)
    events = pd.DataFrame({"onset": onsets, "stimulus_id": [f"s{i % 10}" for i in range(30)]})
    channels = pd.DataFrame({"name": names, "region": "V1", "region_rank": 1})
    return raw, events, channels


def test_1_infinite_samples_exclude_their_contact_by_name_before_referencing():
    raw, events, channels = _shafts()
    data = raw.get_data()
    data[2, 1000:1010] = np.inf  # ten +inf samples on LA3
    data[9] *= np.exp(2.2)  # LB4: robust z of log std about 22
    raw = mne.io.RawArray(data, raw.info, verbose=False)
    bad = find_bad_channels(raw)
    assert bad["LA3"] == f"10 of {raw.n_times} samples are infinite"
    assert bad["LB4"].startswith("noisy (robust z of log std 2")
    assert set(bad) == {"LA3", "LB4"}
    responses = compute_responses(
        raw, events, channels, subject="01", line_freq=None, bands={"high_gamma": [70, 150]},
        windows=[[0.05, 0.25]], n_freqs=2,
    )  # fmt: skip
    reasons = {e["channel"]: e["reason"] for e in responses.attrs["exclusions"]}
    assert set(reasons) == {"LA3", "LB4"}
    kept = [c.split(":")[1] for c in responses["channel"].values]
    assert kept == ["LA1-LA2", "LA4-LA5", "LA5-LA6", "LB1-LB2", "LB2-LB3", "LB5-LB6"]
    assert np.isfinite(responses["response"].values).all()


def test_3_window_past_the_next_event_is_refused_before_any_signal_is_read():
    raw, events, channels = _shafts()
    with pytest.raises(ValueError, match=r"windows \['2000-3000'\] end 3 s after onset.*1\.2 s"):
        compute_responses(raw, events, channels, subject="01", windows=[[2.0, 3.0]])


# --------------------------------------------------------------------------- assembled responses


def _array_inputs(tmp_path, values, ids):
    np.save(tmp_path / "values.npy", values)
    names = [f"u{i:02d}" for i in range(values.shape[1])]
    pd.DataFrame({"name": names, "region": "V4"}).to_csv(
        tmp_path / "channels.tsv", sep="\t", index=False
    )
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    return tmp_path / "values.npy", tmp_path / "channels.tsv", tmp_path / "ids.txt"


def _activations(ids, seed=1):
    rng = np.random.default_rng(seed)
    layer = rng.standard_normal((len(ids), 6))
    return xr.Dataset(
        {"conv": (("stimulus", "feature_conv"), layer)},
        coords={"stimulus_id": ("stimulus", np.array(ids, dtype=object))},
        attrs={"layers": ["conv"], "model": "toy"},
    )


def test_14_16_stimuli_without_responses_are_dropped_and_recorded(tmp_path, warnings_logged):
    ids = [f"img{i:02d}" for i in range(30)]
    values = np.random.default_rng(0).standard_normal((28, 50))  # 50 units
    values[5] = np.nan  # 16: one image's column (row here) is NaN in every unit
    shown = ids[:28]  # 14: img28 and img29 were never presented
    responses = load_array(*_array_inputs(tmp_path, values, shown), stimulus_ids=ids)
    dropped = {d["stimulus_id"]: d["reason"] for d in responses.attrs["dropped_stimuli"]}
    assert set(dropped) == {"img05", "img28", "img29"}
    assert "no response in any channel" in dropped["img28"]
    assert responses.sizes == {"stimulus": 27, "channel": 50, "band": 1, "window": 1}
    assert "leaving out 3 stimuli without a response" in " ".join(
        r.getMessage() for r in warnings_logged.records
    )
    # encoding receives the stimuli that have responses, and every unit
    activations = shared_stimuli(_activations(ids), responses)
    assert activations.sizes["stimulus"] == 27
    assert activations.attrs["dropped_stimuli"] == responses.attrs["dropped_stimuli"]
    scores = fit_encoding(activations, responses, n_permutations=0, n_folds=3)
    assert np.isfinite(scores["r"].values).all() and scores.sizes["channel"] == 50


def test_14_a_stimulus_one_subject_never_saw_is_dropped_naming_the_subject():
    def subject(name, ids, seed):
        trials = xr.DataArray(
            np.random.default_rng(seed).standard_normal((len(ids), 2, 1, 1)),
            dims=("trial", "channel", "band", "window"),
            coords={"stimulus_id": ("trial", ids)},
        )
        ds = average_repetitions(trials, ["a", "b", "c", "d"])
        return ds.assign_coords(
            channel=[f"{name}:c1", f"{name}:c2"], subject=("channel", [name] * 2),
            region=("channel", ["V1"] * 2), region_rank=("channel", [1, 1]),
            band=["high_gamma"], fmin=("band", [70.0]), fmax=("band", [150.0]),
            window=["50-250"], tmin=("window", [0.05]), tmax=("window", [0.25]),
        ).assign_attrs(subjects=[name], settings={}, exclusions=[], dropped_trials=[])  # fmt: skip

    merged = merge_responses(
        [subject("sub-01", list("abcd"), 0), subject("sub-02", list("abd"), 1)]
    )
    assert merged["stimulus_id"].values.tolist() == ["a", "b", "d"]
    (dropped,) = merged.attrs["dropped_stimuli"]
    assert dropped["stimulus_id"] == "c" and "no response from sub-02" in dropped["reason"]


def test_15_a_constant_unit_is_excluded_not_the_session(tmp_path):
    ids = [f"img{i:02d}" for i in range(20)]
    values = np.random.default_rng(0).standard_normal((20, 5))
    values[:, 3] = 0.0  # a silent unit
    responses = load_array(*_array_inputs(tmp_path, values, ids), stimulus_ids=ids)
    (excluded,) = responses.attrs["exclusions"]
    assert excluded["channel"] == "values:u03" and "constant over stimuli" in excluded["reason"]
    assert "values:u03" not in responses["channel"].values and responses.sizes["channel"] == 4
    scores = fit_encoding(_activations(ids), responses, n_permutations=0, n_folds=3)
    assert scores.sizes["channel"] == 4


# --------------------------------------------------------------------------- artefacts


def _dataset(n=200_000):
    return xr.Dataset({"a": (("x",), np.random.default_rng(0).random(n))})


def test_20_full_disk_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "responses.nc"
    write_netcdf(_dataset(10), target)  # an older version, kept on failure
    before = target.read_bytes()

    def full(self, path, **kwargs):
        Path(path).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full)
    with pytest.raises(OSError, match=r"disk full while writing: '.*responses\.nc'") as err:
        write_netcdf(_dataset(), target)
    assert err.value.errno == errno.ENOSPC
    assert target.read_bytes() == before and sorted(tmp_path.iterdir()) == [target]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MiB tmpfs, where the sandbox allows mounting one."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_20_full_tmpfs_is_reported_before_h5py_writes(tiny_disk, monkeypatch):
    with pytest.raises(OSError, match=r"disk full while writing \(1\.5 MiB needed.*a\.nc'"):
        write_netcdf(_dataset(), tiny_disk / "a.nc")
    assert list(tiny_disk.iterdir()) == []
    # without the check, h5py's own failure is reported the same way
    monkeypatch.setattr("brainnet.io._check_space", lambda nbytes, path: None)
    with pytest.raises(OSError, match=r"disk full while writing: '.*a\.nc'"):
        write_netcdf(_dataset(), tiny_disk / "a.nc")
    assert list(tiny_disk.iterdir()) == []
    # a folder written through atomic_path (extracted images) too
    archive = tiny_disk.parent / "big.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        buffer = io.BytesIO()
        noise = np.random.default_rng(0).integers(0, 255, (600, 600, 3), dtype=np.uint8)
        Image.fromarray(noise).save(buffer, "PNG")
        zf.writestr("img1.png", buffer.getvalue())
    with pytest.raises(OSError, match=r"disk full while writing: '.*images'"):
        build_stimuli("zip", tiny_disk / "images", path=archive)
    assert list(tiny_disk.iterdir()) == []
