"""The random-weights control: one config key, a seeded untrained twin beside the trained model."""

from pathlib import Path

import pytest
import torch

from brainnet.activations import extract_activations
from brainnet.config import ConfigError, check_config, dataset_models, model_specs, targets
from brainnet.io import read_dataset
from brainnet.models import ModelSpec, build_model, control_name

SCHEMA = Path(__file__).resolve().parents[1] / "config" / "schema.yaml"


def _config(**models):
    return {
        "datasets": {
            "syn": {
                "stimuli": {"source": "embedded"},
                "recordings": {"format": "synthetic", "reference_model": "lite"},
            },
            "listed": {
                "stimuli": {"source": "embedded"},
                "recordings": {"format": "synthetic", "reference_model": "alex"},
                "models": ["alex", "lite"],
            },
        },
        "models": models
        or {
            "lite": {"arch": "efficientnet_lite0", "weights": "DEFAULT", "control": "random"},
            "alex": {"arch": "alexnet"},
        },
    }


def test_one_key_adds_the_control_everywhere_models_are_enumerated():
    config = check_config(_config(), SCHEMA)
    assert list(config["models"]) == ["lite", "lite_random", "alex"]
    control = model_specs(config)["lite_random"]
    assert control.control_of == "lite"
    assert control.weights is None and control.weights_kind == "untrained"
    assert control.arch == "efficientnet_lite0" and control.seed == config["seed"]
    # a dataset's own model list gains the control right after its trained model
    assert dataset_models(config, "listed") == ["alex", "lite", "lite_random"]
    assert dataset_models(config, "syn") == ["lite", "lite_random", "alex"]
    files = targets(config)
    for dataset in ("syn", "listed"):
        assert f"results/{dataset}/lite_random/figures/heatmap_encoding.png" in files
    # validating again (each Snakemake job does) changes nothing
    assert list(check_config(config, SCHEMA)["models"]) == ["lite", "lite_random", "alex"]


def test_control_keeps_layers_and_reductions_and_its_own_seed():
    entry = {
        "arch": "alexnet",
        "weights": "DEFAULT",
        "control": "random",
        "layers": ["conv1", "fc8"],
        "seed": 7,
        "layer_reduction": {"conv1": {"method": "pool", "grid": 2}},
    }
    config = check_config(_config(lite=entry, alex={"arch": "alexnet"}), SCHEMA)
    control = config["models"]["lite_random"]
    assert control["layers"] == ["conv1", "fc8"] and control["seed"] == 7
    assert control["layer_reduction"] == entry["layer_reduction"]
    assert "control" not in control


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ({"lite": {"arch": "alexnet", "control": "random"}}, r"needs trained weights"),
        (
            {
                "lite": {"arch": "alexnet", "weights": "DEFAULT", "control": "random"},
                "lite_random": {"arch": "resnet18"},
            },
            r"named 'lite_random', which another model entry already uses",
        ),
        (
            {"lite": {"arch": "alexnet"}, "c": {"arch": "resnet18", "control_of": "lite"}},
            r"models\.c\.control_of is 'lite', but their arch differ",
        ),
        (
            {"lite": {"arch": "alexnet"}, "c": {"arch": "alexnet", "control_of": "vgg"}},
            r"models\.c\.control_of is 'vgg', which is not a configured model",
        ),
        ({"lite": {"arch": "alexnet", "control": "shuffled"}}, r"'shuffled' is not one of"),
    ],
)
def test_inconsistent_controls_are_refused(models, message):
    config = _config(**models, alex={"arch": "alexnet"})
    with pytest.raises(ConfigError, match=message):
        check_config(config, SCHEMA)


def test_control_seeding_same_seed_same_weights_and_not_the_trained_ones():
    trained = build_model(ModelSpec(name="lite", arch="efficientnet_lite0", weights="DEFAULT"))

    def control(seed):
        spec = ModelSpec(name=control_name("lite"), arch="efficientnet_lite0", seed=seed)
        return build_model(spec).state_dict()

    first, again, other = control(0), control(0), control(1)
    weights = [k for k, v in first.items() if v.is_floating_point() and k.endswith("weight")]
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not any(torch.equal(first[k], other[k]) for k in weights if "bn" not in k)
    reference = trained.state_dict()
    assert not any(torch.equal(first[k], reference[k]) for k in weights)


def test_random_efficientnet_keeps_its_deep_layers_alive(embedded_small):
    """Initialised as its training code does: every stage varies with the image.

    (PyTorch's default initialisation shrinks the signal ~10x per stage, to
    ~1e-8 in stage 7, below float32 resolution against the classifier's bias.)
    """
    from brainnet.models import feature_extractor, model_layers, preprocessing
    from brainnet.stimuli import load_image

    spec = ModelSpec(name="lite_random", arch="efficientnet_lite0", control_of="lite")
    model, transform = build_model(spec), preprocessing(spec)
    images = torch.stack([transform(load_image(p)) for p in embedded_small["path"].values])
    with torch.inference_mode():
        outputs = feature_extractor(model, model_layers(model, spec))(images)
    spread = {name: float(out.flatten(1).std(0).mean()) for name, out in outputs.items()}
    assert min(spread.values()) > 0.01, spread


def test_activations_name_the_model_a_control_stands_for(embedded_small, tmp_path):
    spec = ModelSpec(
        name="tiny_random", factory="factories:tiny_net", input_size=32, control_of="tiny"
    )
    ds = read_dataset(
        extract_activations(embedded_small, spec, tmp_path / "c.nc", reduction={"method": "none"})
    )
    assert ds.attrs["control"] == "random" and ds.attrs["control_of"] == "tiny"
    assert ds.attrs["weights"] == "untrained"
    assert "random-weights control of tiny" in ds.attrs["weights_source"]
