from pathlib import Path

import pytest
import yaml

from brainnet.config import ConfigError, load_config, model_specs, targets

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"


def _write(tmp_path, config):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _minimal():
    return {
        "datasets": {
            "syn": {
                "stimuli": {"source": "embedded"},
                "recordings": {"format": "synthetic", "reference_model": "alex"},
            }
        },
        "models": {"alex": {"arch": "alexnet"}},
    }


def test_default_config_is_valid_and_filled_in():
    config = load_config(ROOT / "config" / "config.yaml", SCHEMA)
    # planted from the trained network, analysed by it, its random control and AlexNet
    recordings = config["datasets"]["synthetic"]["recordings"]
    assert recordings["reference_model"] == "efficientnet_lite0"
    assert config["models"]["efficientnet_lite0"]["weights"] == "DEFAULT"
    assert config["models"]["efficientnet_lite0"]["layers"] == "auto"
    assert config["models"]["alexnet"]["weights"] is None
    assert config["extraction"]["reduction"]["method"] == "srp"
    specs = model_specs(config)
    assert list(specs) == ["efficientnet_lite0", "efficientnet_lite0_random", "alexnet"]
    control = specs["efficientnet_lite0_random"]
    assert control.weights is None and control.control_of == "efficientnet_lite0"


def test_example_configs_are_valid():
    for path in sorted((ROOT / "config" / "examples").glob("*.yaml")):
        load_config(path, SCHEMA)


def test_misspelt_key_is_named(tmp_path):
    config = _minimal()
    config["models"]["alex"]["weigths"] = None
    with pytest.raises(ConfigError, match="'weigths' was unexpected"):
        load_config(_write(tmp_path, config), SCHEMA)


def test_wrong_type_is_named(tmp_path):
    config = _minimal()
    config["extraction"] = {"batch_size": "many"}
    with pytest.raises(ConfigError, match=r"'many' is not of type 'integer'[\s\S]*batch_size"):
        load_config(_write(tmp_path, config), SCHEMA)


def test_unknown_reference_model_is_named(tmp_path):
    config = _minimal()
    config["datasets"]["syn"]["recordings"]["reference_model"] = "vgg"
    with pytest.raises(ConfigError, match=r"reference_model is 'vgg'"):
        load_config(_write(tmp_path, config), SCHEMA)


def test_unknown_arch_is_named(tmp_path):
    config = _minimal()
    config["models"]["alex"]["arch"] = "alexnot"
    expected = r"model 'alex': unknown arch 'alexnot' \(did you mean alexnet\?\)"
    with pytest.raises(ConfigError, match=expected):
        load_config(_write(tmp_path, config), SCHEMA)


def test_targets_cover_every_model_and_method(tmp_path):
    config = load_config(_write(tmp_path, _minimal()), SCHEMA)
    out = targets(config)
    assert "results/summary.csv" in out
    assert "results/syn/alex/figures/heatmap_rsa.png" in out
    assert "results/syn/alex/figures/recovery_encoding.png" in out
