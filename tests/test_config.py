from pathlib import Path

import pytest
import yaml

from brainnet.config import (
    ConfigError,
    check_partition_layers,
    load_config,
    model_specs,
    targets,
)

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
    expected = r"extraction\.batch_size: 'many' is not of type 'integer'"
    with pytest.raises(ConfigError, match=expected):
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


def test_missing_datasets_is_one_short_line_with_the_fix(tmp_path):
    path = _write(tmp_path, {"gradient": {"n_bootstrap": 10}})
    with pytest.raises(ConfigError) as err:
        load_config(path, SCHEMA)
    message = str(err.value)
    assert len(message.splitlines()) == 1 and len(message) < 200 + 2 * len(str(path))
    assert "'datasets' is a required property" in message
    assert f"--configfile config/config.yaml {path}" in message


def test_misspelt_key_and_value_get_the_closest_name(tmp_path):
    config = _minimal()
    config["models"]["alex"]["weigths"] = None
    with pytest.raises(ConfigError, match=r"models\.alex: .*'weigths'.*did you mean 'weights'"):
        load_config(_write(tmp_path, config), SCHEMA)
    config = _minimal()
    config["datasets"]["syn"]["recordings"]["format"] = "synthetik"
    with pytest.raises(
        ConfigError, match=r"datasets\.syn\.recordings\.format: .*did you mean 'synthetic'"
    ):
        load_config(_write(tmp_path, config), SCHEMA)


def test_unknown_model_of_a_dataset_gets_the_closest_name(tmp_path):
    config = _minimal()
    config["datasets"]["syn"]["models"] = ["alexx"]
    with pytest.raises(ConfigError, match=r"datasets\.syn\.models .*'alexx'.*did you mean 'alex'"):
        load_config(_write(tmp_path, config), SCHEMA)
    config = _minimal()
    config["datasets"]["syn"]["recordings"]["reference_model"] = "alx"
    with pytest.raises(ConfigError, match=r"reference_model is 'alx'.*did you mean 'alex'"):
        load_config(_write(tmp_path, config), SCHEMA)


@pytest.mark.parametrize(
    ("section", "name", "expected"),
    [
        ("datasets", "my data", r"datasets\.'my data': a name must start"),
        ("models", "net/v2", r"models\.'net/v2': a name must start"),
        ("models", "figures", r"models\.figures: 'figures' is the name of a results folder"),
    ],
)
def test_names_that_cannot_be_folders_are_refused(tmp_path, section, name, expected):
    config = _minimal()
    config[section][name] = config[section].pop("syn" if section == "datasets" else "alex")
    if section == "models":
        config["datasets"]["syn"]["recordings"]["reference_model"] = name
    with pytest.raises(ConfigError, match=expected):
        load_config(_write(tmp_path, config), SCHEMA)


def test_planted_regions_in_the_config_are_checked_against_the_reference_model(tmp_path):
    from brainnet.recordings.synthetic import DEFAULT_REGIONS

    config = _minimal()
    recordings = config["datasets"]["syn"]["recordings"]
    # the defaults written out explicitly, in another order, are valid
    recordings["regions"] = {name: dict(spec) for name, spec in reversed(DEFAULT_REGIONS.items())}
    loaded = load_config(_write(tmp_path, config), SCHEMA)
    assert loaded["datasets"]["syn"]["recordings"]["regions"]["V1"]["depth"] == 1 / 8
    # an unknown layer named instead of a depth stops the run before any job,
    # naming region, layer and model
    recordings["regions"]["V2"] = {
        "rank": 2,
        "layer": "conv9",
        "latency": 0.08,
        "center": [1, 2, 3],
    }
    expected = r"datasets\.syn\.recordings\.regions: region 'V2'.*'conv9'.*'alex'.*'fc8'"
    with pytest.raises(ConfigError, match=expected):
        load_config(_write(tmp_path, config), SCHEMA)
    # both a layer and a depth is ambiguous, and the schema says where
    recordings["regions"]["V2"] = {**DEFAULT_REGIONS["V2"], "layer": "conv2"}
    with pytest.raises(ConfigError, match=r"regions\.V2"):
        load_config(_write(tmp_path, config), SCHEMA)
    # the schema names a misspelt key and a missing latency of a visual region
    recordings["regions"]["V2"] = {**DEFAULT_REGIONS["V2"], "centre": [1, 2, 3]}
    with pytest.raises(ConfigError, match="'centre' was unexpected"):
        load_config(_write(tmp_path, config), SCHEMA)
    recordings["regions"]["V2"] = {"rank": 2, "layer": "conv2", "center": [14, -90, 14]}
    with pytest.raises(ConfigError, match="'latency' is a required property"):
        load_config(_write(tmp_path, config), SCHEMA)


def test_default_regions_follow_any_reference_model_by_depth(tmp_path):
    from brainnet.recordings.synthetic import DEFAULT_REGIONS, check_regions

    # AlexNet's plant is the historic one: conv1, conv2, conv3, conv5, fc7
    alexnet = ["pixels", "conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    planted = [r.layer for r in check_regions(DEFAULT_REGIONS, alexnet) if r.rank > 0]
    assert planted == ["conv1", "conv2", "conv3", "conv5", "fc7"]
    config = _minimal()
    config["models"]["res"] = {"arch": "resnet18"}
    config["datasets"]["syn"]["recordings"]["reference_model"] = "res"
    load_config(_write(tmp_path, config), SCHEMA)


def test_family_wise_rsa_criterion_refuses_sequential_stopping(tmp_path):
    config = _minimal()
    config["rsa"] = {"criterion": "maxstat", "stopping": "besag_clifford"}
    with pytest.raises(ConfigError, match=r"rsa\.criterion 'maxstat' .*rsa\.stopping"):
        load_config(_write(tmp_path, config), SCHEMA)
    config["rsa"]["stopping"] = None
    config["encoding"] = {"correction": "cluster"}
    loaded = load_config(_write(tmp_path, config), SCHEMA)
    assert loaded["encoding"]["correction"] == "cluster"
    assert loaded["rsa"]["criterion"] == "maxstat"


def test_partition_pairs_name_configured_models(tmp_path):
    config = _minimal()
    config["partition"] = {"pairs": [["alx/conv5", "alex/fc6"]]}
    with pytest.raises(ConfigError, match=r"partition\.pairs: 'alx/conv5' .*did you mean 'alex'"):
        load_config(_write(tmp_path, config), SCHEMA)
    config["partition"] = {"pairs": [["alex", "alex/fc6"]]}  # no layer
    with pytest.raises(ConfigError, match=r"partition\.pairs\.0\.0"):
        load_config(_write(tmp_path, config), SCHEMA)


def test_partition_pairs_name_layers_of_their_models():
    config = {"partition": {"pairs": [["alex/conv5", "alex/fc66"]]}}
    layers = {"alex": ["conv5", "fc6", "fc7"]}
    with pytest.raises(ConfigError, match=r"'alex/fc66': .*no layer 'fc66'.*did you mean 'fc6'"):
        check_partition_layers(config, layers)
    check_partition_layers({"partition": {"pairs": [["alex/conv5", "alex/fc6"]]}}, layers)
