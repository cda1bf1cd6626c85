"""The run configuration: loading, validation and what it asks to compute.

The config is one YAML file checked against ``config/schema.yaml`` with
:func:`snakemake.utils.validate`, which also fills in the schema's defaults;
the Snakefile and :func:`load_config` use the same call, so a config behaves
the same inside and outside the workflow.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import yaml

from brainnet.models import ModelSpec

__all__ = [
    "ConfigError",
    "ICEEG_FORMATS",
    "analyses",
    "check_config",
    "load_config",
    "model_specs",
    "targets",
]

#: Formats whose responses are computed per subject from continuous recordings.
ICEEG_FORMATS = ("synthetic", "bids")
#: Formats that bring precomputed brain RDMs instead of responses.
RDM_FORMATS = ("algonauts", "kriegeskorte92", "rdm")
METHODS = ("encoding", "rsa")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key at fault."""


def default_schema() -> Path:
    """``config/schema.yaml`` of the project in the working directory."""
    return Path.cwd() / "config" / "schema.yaml"


def load_config(path: str | os.PathLike, schema: str | os.PathLike | None = None) -> dict:
    """Read, validate and complete a config file.

    Parameters
    ----------
    path : path-like
        The YAML config.
    schema : path-like | None
        The JSON schema; ``config/schema.yaml`` of the working directory by default.

    Returns
    -------
    config : dict
        The config with the schema's defaults filled in.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    return check_config(config, schema or default_schema(), source=path)


def check_config(config: dict, schema: str | os.PathLike, *, source="config") -> dict:
    """Validate ``config`` in place against ``schema`` and check what a schema cannot.

    Cross references are checked here: a synthetic dataset's reference model
    must be a configured model, and every model entry must build a valid
    :class:`~brainnet.models.ModelSpec`.
    """
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, os.fspath(schema))
    except WorkflowError as err:
        raise ConfigError(f"{source}: {err}") from err
    specs = model_specs(config)
    _resolve_paths(config)
    for name, dataset in config["datasets"].items():
        recordings = dataset["recordings"]
        reference = recordings.get("reference_model")
        if recordings["format"] == "synthetic":
            if reference not in config["models"]:
                raise ConfigError(
                    f"{source}: datasets.{name}.recordings.reference_model is {reference!r}, "
                    f"which is not among the configured models {sorted(config['models'])}"
                )
            _check_planted_regions(recordings, specs[reference], f"{source}: datasets.{name}")
        unknown = sorted(set(dataset.get("models") or []) - set(config["models"]))
        if unknown:
            raise ConfigError(f"{source}: datasets.{name}.models names unknown models {unknown}")
    return config


def _check_planted_regions(recordings: dict, spec: ModelSpec, where: str) -> None:
    """Check a synthetic dataset's planted regions against its reference model's layers.

    Done before any job runs, so that an unknown generating layer stops the run
    at once rather than after the activations have been extracted. The layer
    names do not depend on the weights, so the untrained architecture is built
    on PyTorch's meta device: shapes only, no memory and no initialisation
    (AlexNet in 0.1 s instead of 5 s).
    """
    import torch

    from brainnet.models import PIXELS, build_model, model_layers
    from brainnet.recordings.synthetic import DEFAULT_REGIONS, check_regions

    regions = recordings.get("regions")
    with torch.device("meta"):
        model = build_model(dataclasses.replace(spec, weights=None))
        layers = [PIXELS, *model_layers(model, spec)]
    try:
        check_regions(DEFAULT_REGIONS if regions is None else regions, layers, spec.name)
    except ValueError as err:
        key = "recordings.regions" if regions is not None else "recordings (default regions)"
        raise ConfigError(f"{where}.{key}: {err}") from err


_PATH_KEYS = {
    "stimuli": ("path", "labels"),
    "recordings": ("path", "regions", "values", "channels", "stimuli"),
}


def data_dir(config: dict) -> Path:
    """The folder that relative data paths start from.

    The config key ``data_dir``, else the environment variable
    ``BRAINNET_DATA``, else ``data/`` in the working directory.
    """
    return Path(config.get("data_dir") or os.environ.get("BRAINNET_DATA") or "data").expanduser()


def _resolve_paths(config: dict) -> None:
    """Make every data path of the datasets absolute, relative ones under :func:`data_dir`."""
    root = data_dir(config)
    for dataset in config["datasets"].values():
        for section, keys in _PATH_KEYS.items():
            for key in keys:
                value = dataset[section].get(key)
                if isinstance(value, str):
                    path = Path(os.path.expandvars(value)).expanduser()
                    dataset[section][key] = os.fspath((root / path).absolute())


def model_specs(config: dict) -> dict[str, ModelSpec]:
    """The :class:`~brainnet.models.ModelSpec` of every configured model."""
    specs = {}
    for name, entry in config["models"].items():
        try:
            specs[name] = ModelSpec.from_config(name, entry, seed=config["seed"])
        except (TypeError, ValueError) as err:
            raise ConfigError(str(err)) from err
    return specs


def analyses(dataset: dict, rsa_level: str = "channel") -> tuple[str, ...]:
    """The methods that apply to a dataset: RSA only for precomputed RDMs.

    RSA is ``rsa`` (channel level), ``rsa_region`` (region level) or both, as
    ``rsa_level`` (the config's ``rsa.level``) asks.
    """
    wanted = tuple(dataset.get("analyses") or METHODS)
    if dataset["recordings"]["format"] in RDM_FORMATS:
        wanted = tuple(m for m in wanted if m == "rsa")
    levels = {"channel": ("rsa",), "region": ("rsa_region",), "both": ("rsa", "rsa_region")}
    return tuple(name for m in wanted for name in (levels[rsa_level] if m == "rsa" else (m,)))


def dataset_models(config: dict, dataset: str) -> list[str]:
    """The models analysed for ``dataset`` (all configured models by default)."""
    return list(config["datasets"][dataset].get("models") or config["models"])


def targets(config: dict) -> list[str]:
    """Every final output of a run, relative to the working directory."""
    root = config["results_dir"]
    out = [f"{root}/summary.csv"]
    for name, dataset in config["datasets"].items():
        methods = analyses(dataset, config["rsa"]["level"])
        models = dataset_models(config, name)
        for model in models:
            for method in methods:
                out.append(f"{root}/{name}/{model}/figures/heatmap_{method}.png")
                out.append(f"{root}/{name}/{model}/figures/gradient_{method}.png")
            if any(method.startswith("rsa") for method in methods):
                # can RSA tell this model's layers apart? (a diagnostic of every RSA run)
                out.append(f"{root}/{name}/{model}/figures/layer_similarity.png")
            if "rsa_region" in methods:
                out.append(f"{root}/{name}/{model}/rsa_region.csv")
        out.append(f"{root}/{name}/figures/model_comparison.png")
        if dataset["recordings"]["format"] == "synthetic":
            out.append(f"{root}/{name}/figures/single_trials.png")
            for model in models:
                if model == dataset["recordings"]["reference_model"]:
                    out.extend(f"{root}/{name}/{model}/figures/recovery_{m}.png" for m in methods)
    return out
