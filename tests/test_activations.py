import numpy as np
import pytest
import torch
from sklearn.random_projection import johnson_lindenstrauss_min_dim

from brainnet.activations import extract_activations
from brainnet.io import read_dataset
from brainnet.models import ModelSpec
from brainnet.reduction import make_reducer

TINY = ModelSpec(name="tiny", factory="factories:tiny_net", input_size=32, seed=1)


@pytest.mark.parametrize("seed", range(5))
def test_random_projection_keeps_distances_within_the_jl_bound(seed):
    n, eps = 40, 0.5
    k = johnson_lindenstrauss_min_dim(n, eps=eps)
    points = np.random.default_rng(seed).normal(size=(n, 4, 50, 50)).astype(np.float32)
    projected = make_reducer(points.shape[1:], "srp", n_components=k, seed=seed)(
        torch.from_numpy(points)
    )
    assert projected.shape == (n, k)
    flat = points.reshape(n, -1).astype(np.float64)
    before = ((flat[:, None] - flat[None]) ** 2).sum(-1)
    after = ((projected[:, None].astype(np.float64) - projected[None]) ** 2).sum(-1)
    ratio = after[np.triu_indices(n, 1)] / before[np.triu_indices(n, 1)]
    assert ratio.min() > 1 - eps and ratio.max() < 1 + eps


def test_pooling_averages_blocks():
    batch = torch.arange(16.0).reshape(1, 1, 4, 4)
    pooled = make_reducer((1, 4, 4), "pool", grid=2)(batch)
    np.testing.assert_allclose(pooled, [[2.5, 4.5, 10.5, 12.5]])


def test_unknown_reduction_is_named():
    with pytest.raises(ValueError, match="layer 'conv1': unknown reduction 'pca'"):
        make_reducer((3, 4, 4), "pca", layer="conv1")


def test_extraction_is_bitwise_deterministic(embedded_small, tmp_path):
    kwargs = {"batch_size": 3, "reduction": {"method": "srp", "n_components": 64}}
    a = read_dataset(extract_activations(embedded_small, TINY, tmp_path / "a.nc", **kwargs))
    b = read_dataset(extract_activations(embedded_small, TINY, tmp_path / "b.nc", **kwargs))
    assert a.attrs["layers"] == ["pixels", "stage1", "stage2", "stage3", "fc1"]
    for layer in a.attrs["layers"]:
        assert a[layer].dtype == np.float32
        assert np.array_equal(a[layer].values, b[layer].values)
    assert list(a["stimulus_id"].values) == list(embedded_small["stimulus_id"].values)


def test_streamed_file_equals_a_plain_forward_pass(embedded_small, tmp_path):
    from brainnet.models import build_model, preprocessing
    from brainnet.stimuli import load_image

    ds = read_dataset(
        extract_activations(
            embedded_small, TINY, tmp_path / "a.nc", batch_size=4, reduction={"method": "none"}
        )
    )
    model, transform = build_model(TINY), preprocessing(TINY)
    images = torch.stack([transform(load_image(p)) for p in embedded_small["path"].values])
    with torch.inference_mode():
        logits = model(images)
    np.testing.assert_allclose(ds["fc1"].values, logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ds["pixels"].values, images.reshape(len(images), -1).numpy())
    assert ds.attrs["reduction"]["stage1"]["method"] == "none"
    assert ds.attrs["weights"] == "untrained"


def test_per_layer_reduction(embedded_small, tmp_path):
    ds = read_dataset(
        extract_activations(
            embedded_small,
            TINY,
            tmp_path / "a.nc",
            reduction={"method": "none"},
            layer_reduction={"stage1": {"method": "pool", "grid": 2}},
        )
    )
    assert ds.sizes["feature_stage1"] == 8 * 2 * 2
    assert ds.sizes["feature_stage2"] == 16 * 16 * 16  # the default, "none", elsewhere
    with pytest.raises(ValueError, match=r"unknown layers \['conv9'\]"):
        extract_activations(
            embedded_small, TINY, tmp_path / "b.nc", layer_reduction={"conv9": {"method": "none"}}
        )


def test_failed_extraction_leaves_no_file(embedded_small, tmp_path):
    broken = embedded_small.copy()
    paths = broken["path"].values.copy()
    paths[-1] = str(tmp_path / "vanished.png")
    broken = broken.assign_coords(path=("stimulus", paths))
    with pytest.raises(FileNotFoundError, match="vanished.png"):
        extract_activations(broken, TINY, tmp_path / "out.nc", batch_size=2)
    assert list(tmp_path.iterdir()) == []


def test_projection_matrix_has_the_very_sparse_distribution():
    from brainnet.reduction import sparse_projection_matrix

    n_input, k = 40_000, 500
    matrix = sparse_projection_matrix(n_input, k, seed=0)
    s = np.sqrt(n_input)
    assert matrix.shape == (n_input, k)
    assert matrix.nnz / (n_input * k) == pytest.approx(1 / s, rel=0.01)
    np.testing.assert_allclose(np.unique(np.abs(matrix.data)), np.sqrt(s / k), rtol=1e-6)
    assert np.mean(matrix.data > 0) == pytest.approx(0.5, abs=0.01)
    # each input feature's row has unit expected squared norm: lengths are kept on average
    assert np.asarray(matrix.multiply(matrix).sum(axis=1)).mean() == pytest.approx(1, rel=0.01)
