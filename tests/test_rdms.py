"""Loaders of precomputed brain RDMs: real data, users' files, refused input."""

import numpy as np
import pytest
import scipy.io
from scipy.spatial.distance import squareform

from brainnet import rsa
from brainnet.io import write_netcdf
from brainnet.recordings.rdms import (
    brain_rdm_dataset,
    load_algonauts,
    load_kriegeskorte92,
    load_rdm_netcdf,
    load_rdm_npz,
)


def _rdms(k, n, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rsa.compute_rdm(rng.standard_normal((n, 3))) for _ in range(k)])


def test_algonauts(shared_data):
    root = shared_data / "algonauts78"
    ds = load_algonauts(root)
    assert ds["rdm"].dims == ("channel", "stimulus", "stimulus_other")
    assert ds.sizes == {"channel": 30, "stimulus": 78, "stimulus_other": 78}
    ids = ds["stimulus_id"].values
    assert ids[0] == "image_01" and ids[-1] == "image_78"
    assert sorted(p.stem for p in (root / "stimuli_data").glob("*.jpg")) == list(ids)
    it = np.load(root / "brain_data" / "fmri_IT_RDMs.npz")["arr_0"]
    third = ds.sel(channel="03:IT")
    assert np.allclose(third["rdm"].values, it[2], atol=1e-12)
    assert third["region_rank"].item() > ds.sel(channel="03:EVC")["region_rank"].item()
    assert (ds["rdm"].values == ds["rdm"].values.transpose(0, 2, 1)).all()


def test_kriegeskorte92(shared_data, tmp_path):
    root = shared_data / "kriegeskorte92"
    ds = load_kriegeskorte92(root)
    assert ds.sizes["channel"] == 9 and ds.sizes["stimulus"] == 92
    assert list(ds["subject"].values[:2]) == ["BE", "BE"]
    assert list(ds["session"].values[:2]) == [1, 2]
    assert ds["region"].values[-1] == "mIT"
    supplement = scipy.io.loadmat(root / "Kriegeskorte_Neuron2008_supplementalData.mat")
    fig1 = {
        str(np.squeeze(e["name"])): e["RDM"].ravel() for e in supplement["RDMs_mIT_hIT_fig1"][0]
    }
    assert np.allclose(
        squareform(ds["rdm"].sel(channel="monkey:mIT-1").values), fig1["mIT_674neurons"]
    )
    # the supplement's group RDM is the mean of the subject RDMs: the condensed
    # order of the monkey vector is scipy's
    human = ds["rdm"].values[:8].mean(axis=0)
    assert np.corrcoef(squareform(human), fig1["hITvisStim_316vx"])[0, 1] > 0.9999
    # stimulus ids are those the stimulus stage gives the image array
    from brainnet.stimuli import build_stimuli

    table = build_stimuli("array", tmp_path / "images", path=root / "stimuli_92_uint8.npy")
    assert list(table["stimulus_id"].values) == list(ds["stimulus_id"].values)


def test_npz_and_netcdf_round_trip(tmp_path):
    rdms = _rdms(3, 6)
    ids = [f"s{i}" for i in range(6)]
    path = tmp_path / "mine.npz"
    np.savez(path, rdms=rdms, stimulus_id=np.array(ids))
    ds = load_rdm_npz(path, region=["V1", "V1", "IT"], region_rank=[1, 1, 4])
    assert list(ds["channel"].values) == ["01:V1", "02:V1", "03:IT"]
    assert np.array_equal(ds["rdm"].values, rdms)
    assert list(ds["stimulus_other_id"].values) == ids
    back = load_rdm_netcdf(write_netcdf(ds, tmp_path / "brain_rdms.nc"))
    assert np.array_equal(back["rdm"].values, rdms)
    assert list(back["channel"].values) == list(ds["channel"].values)
    single = tmp_path / "one.npy"
    np.save(single, rdms[0])
    one = load_rdm_npz(single, region="IT", region_rank=4, subject="S1", stimulus_ids=ids)
    assert one["channel"].values.tolist() == ["S1:IT"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.__setitem__((1, 0, 2), r[1, 0, 2] + 1), r"mine\.npz\[1\].*not symmetric"),
        (lambda r: r.__setitem__((0, 1, 2), np.nan), r"mine\.npz\[0\].*NaN"),
        (lambda r: r.__setitem__((2, 3, 3), 1.0), r"mine\.npz\[2\].*diagonal"),
    ],
)
def test_bad_rdm_files_are_refused_by_name(tmp_path, change, message):
    rdms = _rdms(3, 6)
    change(rdms)
    path = tmp_path / "mine.npz"
    np.savez(path, rdms=rdms)
    with pytest.raises(ValueError, match=message):
        load_rdm_npz(path, region="IT", region_rank=4, stimulus_ids=list("abcdef"))


def test_wrong_stimulus_lists_are_refused(tmp_path):
    path = tmp_path / "mine.npz"
    np.savez(path, a=_rdms(2, 6), b=_rdms(2, 6))
    with pytest.raises(ValueError, match="mine.npz holds arrays"):
        load_rdm_npz(path, region="IT", region_rank=4, stimulus_ids=list("abcdef"))
    with pytest.raises(ValueError, match="6 stimuli but 5 stimulus ids"):
        load_rdm_npz(path, key="a", region="IT", region_rank=4, stimulus_ids=list("abcde"))
    with pytest.raises(ValueError, match="no 'stimulus_id'"):
        load_rdm_npz(path, key="a", region="IT", region_rank=4)
    with pytest.raises(ValueError, match="at least 3 stimuli"):
        brain_rdm_dataset(np.zeros((2, 2)), ["a", "b"], subject="x", region="IT", region_rank=4)
    with pytest.raises(ValueError, match=r"repeat: \['a'\]"):
        brain_rdm_dataset(_rdms(1, 3)[0], ["a", "a", "b"], subject="x", region="IT", region_rank=4)
    # an Algonauts-like folder whose images do not match the RDM rows
    root = tmp_path / "algonauts"
    (root / "brain_data").mkdir(parents=True)
    for region in ("EVC", "IT"):
        np.savez(root / "brain_data" / f"fmri_{region}_RDMs.npz", arr_0=_rdms(2, 4))
    (root / "stimuli_data").mkdir()
    for i in (1, 2, 3, 5):
        (root / "stimuli_data" / f"image_{i:02d}.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"fmri_EVC_RDMs.npz has 4 rows.*\['image_04'\]"):
        load_algonauts(root)
    (root / "stimuli_data" / "image_05.jpg").rename(root / "stimuli_data" / "image_04.jpg")
    assert load_algonauts(root).sizes["channel"] == 4
    with pytest.raises(FileNotFoundError, match="fmri_EVC_RDMs.npz"):
        load_algonauts(tmp_path)
