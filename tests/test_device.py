"""The device key and the torch paths: torch on the CPU (and on CUDA, marked ``gpu``)
against the NumPy reference, same permutations, same p-values."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from scipy import stats
from scipy.spatial.distance import pdist

from brainnet.config import ConfigError, load_config
from brainnet.device import resolve_device, stage_device
from brainnet.encoding import fit_encoding
from brainnet.encoding.device_ridge import _score_ridge_device
from brainnet.encoding.inputs import _folds
from brainnet.encoding.null import _p_values, _permutations, _score_ridge
from brainnet.rsa import rsa_scores
from brainnet.rsa._engine import _Test
from brainnet.rsa._memory import rsa_sizes
from brainnet.rsa.permutation import make_permutations
from encoding_data import make_activations, make_responses

ROOT = Path(__file__).resolve().parents[1]
HAS_CUDA = torch.cuda.is_available()
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[pytest.mark.gpu, pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device")],
    ),
]


def test_auto_resolves_to_what_torch_sees_and_bad_values_name_the_key():
    assert resolve_device("auto").type == ("cuda" if HAS_CUDA else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"rsa\.device must be auto, cpu, cuda or cuda:N"):
        resolve_device("gpu", "rsa.device")


@pytest.mark.skipif(HAS_CUDA, reason="a CUDA device is present")
def test_cuda_without_a_gpu_is_refused_naming_the_key():
    with pytest.raises(ValueError, match=r"encoding\.device: cuda asked for, but torch sees no"):
        resolve_device("cuda", "encoding.device")
    activations = make_activations(20, [5])
    responses = make_responses(activations, ["layer0"], n_windows=1)
    with pytest.raises(ValueError, match=r"encoding\.device: cuda:1"):
        fit_encoding(activations, responses, n_permutations=0, device="cuda:1")


def test_a_stage_key_overrides_the_top_level_device(tmp_path):
    config = {
        "device": "cuda",
        "rsa": {"device": "cpu"},
        "datasets": {
            "syn": {
                "stimuli": {"source": "embedded"},
                "recordings": {"format": "synthetic", "reference_model": "alex"},
            }
        },
        "models": {"alex": {"arch": "alexnet"}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    loaded = load_config(path, ROOT / "config" / "schema.yaml")
    assert [stage_device(loaded, s) for s in ("extraction", "encoding", "rsa")] == [
        "cuda",
        "cuda",
        "cpu",
    ]
    config["encoding"] = {"device": "gpu0"}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"encoding\.device"):
        load_config(path, ROOT / "config" / "schema.yaml")


def ridge_problem(n_stimuli, n_features, n_targets, seed=0):
    """Planted responses, some strong, some null, so that p-values spread."""
    activations = make_activations(n_stimuli, [n_features], seed=seed)
    sources = ["layer0"] * (n_targets // 2) + [None] * (n_targets - n_targets // 2)
    responses = make_responses(activations, sources, n_windows=1, snr=2.0, seed=seed + 1)
    features = activations["layer0"].values
    targets = responses["response"].values.reshape(n_stimuli, -1)
    splits = _folds(activations, responses, n_stimuli, 5, None, seed=0)
    return features, targets, splits


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("n_features", "n_targets"), [(60, 40), (15, 300)])
def test_torch_ridge_null_equals_the_numpy_reference(device, n_features, n_targets):
    """Same penalties, scores within 1e-5, identical p-values; both the Gram
    (features >= training stimuli) and the SVD branch, the gathered and the
    scattered null."""
    features, targets, splits = ridge_problem(50, n_features, n_targets)
    perms = _permutations(50, 199, seed=3)
    alphas = np.logspace(-3, 7, 21)
    r_np, chosen_np, saturated_np = _score_ridge(features, targets, splits, perms, alphas, False)
    r_t, chosen_t, saturated_t = _score_ridge_device(
        features, targets, splits, perms, alphas, torch.device(device)
    )
    np.testing.assert_array_equal(chosen_t, chosen_np)
    np.testing.assert_array_equal(saturated_t, saturated_np)
    assert np.abs(r_t - r_np).max() < 1e-5
    np.testing.assert_array_equal(_p_values(r_t), _p_values(r_np))
    # the planted half is found, the null half is not: the comparison is not vacuous
    p = _p_values(r_np)
    assert (p[: n_targets // 2] <= 0.05).mean() > 0.6 > 0.2 > (p[n_targets // 2 :] <= 0.05).mean()


@pytest.mark.parametrize("device", DEVICES)
def test_near_ties_are_recomputed_in_float64(device, monkeypatch):
    """A permuted r within the margin of the observed one is recomputed: with the
    margin widened to cover every null value, r is the float64 reference's."""
    features, targets, splits = ridge_problem(40, 50, 12)
    perms = _permutations(40, 19, seed=4)
    alphas = np.logspace(-3, 7, 11)
    args = (features, targets, splits, perms, alphas)
    r_np, *_ = _score_ridge(*args, False)
    float32, *_ = _score_ridge_device(*args, torch.device(device))
    monkeypatch.setattr("brainnet.encoding.device_ridge._MARGIN", 10.0)
    recomputed, *_ = _score_ridge_device(*args, torch.device(device))
    assert np.abs(float32[1:] - r_np[1:]).max() > 1e-9  # float32 shows
    assert np.abs(recomputed[1:] - r_np[1:]).max() < 1e-12


def rsa_problem(n=40, n_layers=3, k=150, seed=0):
    rng = np.random.default_rng(seed)
    features = [rng.standard_normal((n, 8)) for _ in range(n_layers)]
    models = np.stack([pdist(f) for f in features])
    responses = rng.standard_normal((n, k))
    responses[:, : k // 5] += 1.5 * features[1][:, :1]  # planted in a fifth
    brains = np.stack([pdist(responses[:, [j]]) for j in range(k)])
    return models, brains


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("method", "h"), [("spearman", None), ("spearman", 3), ("pearson", None)])
def test_torch_rsa_permutation_test_equals_the_numpy_reference(device, method, h):
    models, brains = rsa_problem()
    perms = make_permutations(40, 499, seed=2)
    sizes = rsa_sizes(models.shape[1])
    results = []
    for dev in (None, torch.device(device)):
        test = _Test(models, method, perms, h, sizes, device=dev)
        brain32, norm, _ = test.brain(brains)
        state = test.run(brain32, norm)
        results.append((test.pvalues(state), state.used))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_array_equal(results[1][1], results[0][1])
    planted, null = results[0][0][1, :30], results[0][0][1, 30:]
    assert (planted <= 0.05).mean() > 0.6 > 0.2 > (null <= 0.05).mean()


@pytest.mark.parametrize("device", DEVICES)
def test_torch_rsa_weighted_units_equal_the_numpy_reference(device):
    """Region-level units (weighted means of several brain RDMs) on the device."""
    models, brains = rsa_problem(k=40)
    weights = np.zeros((40, 8))
    for u in range(8):
        weights[5 * u : 5 * u + 5, u] = 0.2
    perms = make_permutations(40, 199, seed=5)
    results = []
    for dev in (None, torch.device(device)):
        test = _Test(models, "spearman", perms, None, rsa_sizes(models.shape[1]), device=dev)
        brain32, norm, _ = test.brain(brains)
        results.append(test.pvalues(test.run(brain32, norm, weights)))
    np.testing.assert_array_equal(results[1], results[0])


def test_rsa_sizes_fit_the_budget_and_change_no_result():
    q = 5000 * 4999 // 2
    sizes = rsa_sizes(q, memory_gb=4)
    used = sizes.block * q * 4 + 3 * sizes.chunk * q * 4 + 2 * sizes.rows * q * 8
    assert used <= 4 * 2**30 and min(sizes.block, sizes.chunk, sizes.rows) >= 1
    # 160 stimuli: the sizes that were fixed before, whatever the machine
    assert rsa_sizes(160 * 159 // 2, memory_gb=4) == type(sizes)(256, 2048, 256)
    with pytest.raises(ValueError, match="chunk must be 'auto' or a positive integer"):
        rsa_sizes(q, chunk=0)

    activations = make_activations(30, [6, 6])
    responses = make_responses(activations, ["layer1"] * 6 + [None] * 6, n_windows=1)
    kwargs = {"n_permutations": 199, "stopping": "besag_clifford", "alpha": 0.01}
    default = rsa_scores(activations, responses, **kwargs)
    small = rsa_scores(activations, responses, block=3, chunk=5, **kwargs)
    for name in ("rho", "p", "n_permutations"):
        np.testing.assert_array_equal(small[name].values, default[name].values)
    assert stats.spearmanr(default["p"].values.ravel(), small["p"].values.ravel())[0] == 1


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device")
def test_stages_on_cuda_match_cpu():
    activations = make_activations(40, [30])
    responses = make_responses(activations, ["layer0"] * 5 + [None] * 5, n_windows=1)
    cpu = fit_encoding(activations, responses, n_permutations=99)
    gpu = fit_encoding(activations, responses, n_permutations=99, device="cuda")
    assert np.abs(gpu["r"] - cpu["r"]).max() < 1e-5
    np.testing.assert_array_equal(gpu["p"].values, cpu["p"].values)
    kwargs = {"n_permutations": 199}
    rsa_cpu = rsa_scores(activations, responses, **kwargs)
    rsa_gpu = rsa_scores(activations, responses, device="cuda", **kwargs)
    np.testing.assert_array_equal(rsa_gpu["p"].values, rsa_cpu["p"].values)
