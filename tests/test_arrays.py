"""Loaders of already-reduced responses: BrainIO assemblies, NumPy matrices, Cowley V4."""

import zipfile

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brainnet.io import read_dataset, write_netcdf
from brainnet.preprocessing import merge_responses
from brainnet.recordings.arrays import load_array, load_assembly, load_cowley


def _assembly(rng, n_stimuli=5, n_reps=3, n_neuroids=4, time_bins=None):
    """A BrainIO-style assembly: presentations in shuffled order, MultiIndex coords."""
    ids = np.repeat([f"im{k}" for k in range(n_stimuli)], n_reps)
    reps = np.tile(np.arange(n_reps), n_stimuli)
    order = rng.permutation(ids.size)
    shape = (ids.size, n_neuroids) + ((len(time_bins),) if time_bins else ())
    dims = ("presentation", "neuroid") + (("time_bin",) if time_bins else ())
    coords = {
        "presentation": pd.MultiIndex.from_arrays(
            [ids[order], reps[order]], names=["stimulus_id", "repetition"]
        ),
        "neuroid": pd.MultiIndex.from_arrays(
            [[f"e{i}" for i in range(n_neuroids)], ["V4", "V4", "IT", "IT"][:n_neuroids],
             ["m1"] * n_neuroids],
            names=["neuroid_id", "region", "animal"],
        ),
    }  # fmt: skip
    if time_bins:
        coords["time_bin"] = pd.MultiIndex.from_arrays(
            [[s for s, _ in time_bins], [e for _, e in time_bins]],
            names=["time_bin_start", "time_bin_end"],
        )
    return xr.DataArray(rng.normal(size=shape), dims=dims, coords=coords)


def _write(assembly, path):
    # As brainio.packaging.write_netcdf does: MultiIndexes cannot be stored in netCDF.
    assembly.reset_index(list(assembly.indexes)).to_netcdf(path, engine="h5netcdf")
    return path


def test_assembly_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    assembly = _assembly(rng)
    ds = load_assembly(_write(assembly, tmp_path / "assy.nc"))
    assert list(ds["stimulus_id"].values) == [f"im{k}" for k in range(5)]
    assert list(ds["channel"].values) == ["m1:e0", "m1:e1", "m1:e2", "m1:e3"]
    assert list(ds["region_rank"].values) == [3, 3, 4, 4]
    assert list(ds["band"].values) == ["broadband"] and np.isnan(ds["fmin"]).all()
    assert list(ds["window"].values) == ["all"] and ds["responsive"].all()
    expected = assembly.groupby("stimulus_id").mean().sel(stimulus_id=ds["stimulus_id"].values)
    np.testing.assert_allclose(ds["response"].values[..., 0, 0], expected.values)
    # Halves follow the repetition coordinate: 0 and 2 versus 1.
    odd = assembly.where(assembly["repetition"] == 1, drop=True).groupby("stimulus_id").mean()
    np.testing.assert_allclose(
        ds["split_half"].sel(half=1).values[..., 0, 0],
        odd.sel(stimulus_id=ds["stimulus_id"].values).values,
    )
    path = write_netcdf(ds, tmp_path / "responses.nc")
    xr.testing.assert_identical(read_dataset(path)["response"], ds["response"])


def test_assembly_time_bins_become_windows(tmp_path):
    rng = np.random.default_rng(1)
    assembly = _assembly(rng, time_bins=[(70, 170), (170, 270)])
    ds = load_assembly(_write(assembly, tmp_path / "assy.nc"), stimulus_ids=["im4", "im0"] + [
        f"im{k}" for k in (1, 2, 3)
    ])  # fmt: skip
    assert list(ds["window"].values) == ["70-170", "170-270"]
    np.testing.assert_allclose(ds["tmin"].values, [0.07, 0.17])
    mean = assembly.groupby("stimulus_id").mean().sel(stimulus_id="im4")
    np.testing.assert_allclose(ds["response"].isel(stimulus=0, band=0).values, mean.values)


def test_assembly_errors(tmp_path):
    rng = np.random.default_rng(2)
    assembly = _assembly(rng).reset_index("neuroid").drop_vars("region")
    path = _write(assembly, tmp_path / "noregion.nc")
    with pytest.raises(ValueError, match="noregion.nc has no region on neuroid"):
        load_assembly(path)
    ds = load_assembly(path, region="V1")
    assert set(ds["region"].values) == {"V1"} and set(ds["region_rank"].values) == {1}
    with pytest.raises(ValueError, match=r"no region_rank for regions \['LGN'\]"):
        load_assembly(path, region="LGN")
    assert load_assembly(path, region="LGN", region_ranks={"LGN": 0})["region_rank"].max() == 0


def test_numpy_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    values = rng.normal(size=(6, 2))
    np.save(tmp_path / "values.npy", values)
    (tmp_path / "stimuli.txt").write_text("a\nb\nc\na\nb\nc\n")
    pd.DataFrame({"name": ["u1", "u2"], "region": ["V1", "V4"], "x": [1.0, 2.0]}).to_csv(
        tmp_path / "channels.tsv", sep="\t", index=False
    )
    ds = load_array(
        tmp_path / "values.npy", tmp_path / "channels.tsv", tmp_path / "stimuli.txt",
        subject="s1", window=[0.05, 0.25],
    )  # fmt: skip
    np.testing.assert_allclose(ds["response"].values[..., 0, 0], (values[:3] + values[3:]) / 2)
    np.testing.assert_allclose(ds["split_half"].values[..., 0, 0], [values[:3], values[3:]])
    assert list(ds["channel"].values) == ["s1:u1", "s1:u2"]
    assert list(ds["window"].values) == ["50-250"]
    np.testing.assert_allclose(ds["x"].values, [1.0, 2.0])
    assert list(ds["region_rank"].values) == [1, 3]

    # The same data as (stimulus, channel, repetition) with a CSV stimulus table.
    np.save(tmp_path / "cube.npy", np.stack([values[:3], values[3:]], axis=-1))
    pd.DataFrame({"stimulus_id": ["a", "b", "c"]}).to_csv(tmp_path / "stimuli.csv", index=False)
    cube = load_array(
        tmp_path / "cube.npy", tmp_path / "channels.tsv", tmp_path / "stimuli.csv",
        subject="s1", window=[0.05, 0.25],
    )  # fmt: skip
    xr.testing.assert_identical(cube["split_half"], ds["split_half"])
    merged = merge_responses([ds, cube.assign_coords(channel=["s2:u1", "s2:u2"])])
    assert merged.sizes["channel"] == 4


def test_numpy_mismatch_refused(tmp_path):
    np.save(tmp_path / "values.npy", np.zeros((4, 3)))
    (tmp_path / "stimuli.txt").write_text("a\nb\nc\n")
    pd.DataFrame({"name": ["u1", "u2", "u3"], "region": ["V1"] * 3}).to_csv(
        tmp_path / "channels.tsv", sep="\t", index=False
    )
    with pytest.raises(ValueError, match=r"stimuli.txt lists 3 stimuli but .*values.npy has 4"):
        load_array(tmp_path / "values.npy", tmp_path / "channels.tsv", tmp_path / "stimuli.txt")
    (tmp_path / "stimuli.txt").write_text("a\nb\nc\nd\n")
    np.save(tmp_path / "values.npy", np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"channels.tsv lists 3 channels but .*values.npy has 2"):
        load_array(tmp_path / "values.npy", tmp_path / "channels.tsv", tmp_path / "stimuli.txt")


def test_cowley_session_with_repeats(shared_data):
    root = shared_data / "cowley_v4"
    ds = load_cowley(root, "210325")
    assert ds["response"].shape == (640, 50, 1, 1)
    assert ds["stimulus_id"].values[0] == "image0001"
    assert ds["stimulus_id"].values[-1] == "image0640"
    assert ds["channel"].values[0] == "monkey-210325:unit01"
    assert set(ds["region"].values) == {"V4"} and set(ds["region_rank"].values) == {3}
    averaged = np.load(root / "responses_repeat_averaged" / "responses_210325.npy")
    np.testing.assert_allclose(ds["response"].values[:, :, 0, 0], averaged.T)
    # Repeats are noisy spike counts of the same tuning: the halves agree per unit.
    halves = ds["split_half"].values[:, :, :, 0, 0]
    r = [np.corrcoef(halves[0, :, u], halves[1, :, u])[0, 1] for u in range(50)]
    assert np.median(r) > 0.3


def test_cowley_session_without_repeats(shared_data):
    ds = load_cowley(shared_data / "cowley_v4", "190923")
    assert ds["response"].shape == (1200, 33, 1, 1) and "split_half" not in ds
    # The zip of this session keeps its images in a folder: ids are still the file stems.
    assert ds["stimulus_id"].values[1] == "image0002"


def test_cowley_count_mismatch_refused(tmp_path):
    (tmp_path / "responses_repeat_averaged").mkdir()
    (tmp_path / "images").mkdir()
    np.save(tmp_path / "responses_repeat_averaged" / "responses_1.npy", np.zeros((3, 4)))
    with zipfile.ZipFile(tmp_path / "images" / "images_1.zip", "w") as archive:
        for k in range(1, 4):
            archive.writestr(f"image{k:04d}.jpg", b"")
    with pytest.raises(ValueError, match=r"responses_1.npy has shape \(3, 4\).*holds 3 images"):
        load_cowley(tmp_path, "1")
    with pytest.raises(FileNotFoundError, match="session 2: .*responses_2.npy not found"):
        load_cowley(tmp_path, "2")
