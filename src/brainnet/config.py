"""The run configuration: loading, validation and what it asks to compute.

The config is one YAML file checked against ``config/schema.yaml`` with
:func:`snakemake.utils.validate`, which also fills in the schema's defaults;
the Snakefile and :func:`load_config` use the same call, so a config behaves
the same inside and outside the workflow.

:func:`check_config` then checks, before any job, what a schema cannot, and
names the config key at fault: a key repeated in a config file (YAML keeps
the last silently), cross references between models and datasets, what a
recordings format needs, preprocessing bands against the Nyquist frequency of
each sEEG dataset and windows against its trial schedule, subject counts, and
permutation counts too small to reach the significance level.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import yaml
from jsonschema import ValidationError

from brainnet.log import logger
from brainnet.models import ModelSpec, expand_controls

__all__ = [
    "ConfigError",
    "ICEEG_FORMATS",
    "analyses",
    "check_config",
    "load_config",
    "model_specs",
    "read_yaml",
    "targets",
]

#: Formats whose responses are computed per subject from continuous recordings.
ICEEG_FORMATS = ("synthetic", "bids")
#: Formats that bring precomputed brain RDMs instead of responses.
RDM_FORMATS = ("algonauts", "kriegeskorte92", "rdm")
#: Methods a dataset may ask for (``analyses``); ``cka`` runs only when asked.
METHODS = ("encoding", "rsa", "cka")
DEFAULT_METHODS = ("encoding", "rsa")
#: Methods with one score per region rather than per channel.
REGION_METHODS = ("rsa_region", "cka")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key at fault."""


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key repeated in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{key_node.start_mark.name}, line {line}: key {key!r} appears twice in "
                    f"one mapping (first on line {seen[key]}); YAML would keep only the last"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML config file, refusing repeated keys (naming file, key and line)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as file:
            return yaml.load(file, Loader=_StrictLoader) or {}  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err


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
    config = read_yaml(path)
    return check_config(config, schema or default_schema(), source=Path(path))


def check_config(config: dict, schema: str | os.PathLike, *, source="config", files=()) -> dict:
    """Validate ``config`` in place against ``schema`` and check what a schema cannot.

    Cross references are checked here: a synthetic dataset's reference model
    must be a configured model, and every model entry must build a valid
    :class:`~brainnet.models.ModelSpec`. Model entries with ``control: random``
    gain their random-weights control entry (:func:`brainnet.models.expand_controls`).
    Dataset and model names must be usable as folder names of the results. Every
    message is one line that names the key at fault, with the closest valid name
    where there is one.

    Parameters
    ----------
    config : dict
        The parsed config (by Snakemake, or :func:`load_config`).
    schema : path-like
        The JSON schema.
    source : str | path-like
        How messages name the config.
    files : sequence of path-like
        The YAML files ``config`` was parsed from (``workflow.configfiles``):
        each is read again with :func:`read_yaml`, since Snakemake's parser
        keeps the last of two repeated keys silently.

    Returns
    -------
    config : dict
        The same dict, defaults filled in and data paths made absolute.

    Raises
    ------
    ConfigError
        Naming the file and line, or the config key, at fault.
    """
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    for file in files:
        read_yaml(file)
    try:
        validate(config, os.fspath(schema))
    except WorkflowError as err:
        # Snakemake's message carries the whole schema; say only what is wrong, and where.
        raise ConfigError(_schema_message(err, source)) from None
    _check_names(config, source)
    try:
        expand_controls(config)
    except ValueError as err:
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
                    + _closest(reference, config["models"])
                )
            _check_planted_regions(recordings, specs[reference], f"{source}: datasets.{name}")
        unknown = sorted(set(dataset.get("models") or []) - set(config["models"]))
        if unknown:
            raise ConfigError(
                f"{source}: datasets.{name}.models names unknown models {unknown}; "
                f"the configured models are {sorted(config['models'])}"
                + _closest(unknown[0], config["models"])
            )
    try:
        for name, dataset in config["datasets"].items():
            _check_recordings(f"datasets.{name}.recordings", dataset["recordings"])
        _check_preprocessing(config)
        _check_permutations(config)
        _check_partition(config)
    except (ValueError, OSError) as err:
        raise ConfigError(f"{source}: {err}") from err
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


def _check_recordings(key: str, recordings: dict) -> None:
    """What a recordings format needs beyond the schema's types."""
    fmt = recordings["format"]
    if fmt == "rdm" and not str(recordings["path"]).endswith(".nc"):
        missing = [k for k in ("region", "region_rank") if recordings.get(k) is None]
        if missing:
            raise ValueError(
                f"{key} lacks {missing}: an .npz/.npy RDM file holds no regions, so the "
                "config gives the region and region_rank of every RDM (one, or a list)"
            )
        if str(recordings["path"]).endswith(".npy") and not recordings.get("stimuli"):
            raise ValueError(
                f"{key}.stimuli is required for the .npy file {recordings['path']}: it names "
                "the stimulus of each RDM row (one stimulus_id a line, or a CSV/TSV with a "
                "stimulus_id column)"
            )
    if fmt == "synthetic":
        n_visual = _n_visual_regions(recordings.get("regions"))
        if n_visual > 1 and recordings["n_subjects"] < 2:
            raise ValueError(
                f"{key}.n_subjects is {recordings['n_subjects']}: each simulated subject has "
                "no shaft in one visual region (subject 1 none in the first), so every "
                "region is recorded only with n_subjects >= 2"
            )


def _n_visual_regions(regions) -> int:
    from brainnet.recordings.synthetic.regions import DEFAULT_REGIONS

    regions = DEFAULT_REGIONS if regions is None else regions
    specs = regions.values() if isinstance(regions, dict) else regions
    return sum(1 for spec in specs if isinstance(spec, dict) and (spec.get("rank") or 0) > 0)


def _check_preprocessing(config: dict) -> None:
    """Bands, windows and baseline, against every sEEG dataset's sampling rate and schedule."""
    from brainnet.preprocessing.settings import (
        DEFAULT_BANDS,
        DEFAULT_WINDOWS,
        check_bands,
        check_interval,
        check_schedule,
        check_windows,
    )

    settings = config["preprocessing"]
    windows = check_windows(settings.get("windows") or DEFAULT_WINDOWS, "preprocessing.windows")
    baseline = check_interval(settings["baseline"], "preprocessing.baseline")
    bands = settings.get("bands") or DEFAULT_BANDS
    check_bands(bands, None, "preprocessing.bands")
    for name, dataset in config["datasets"].items():
        recordings = dataset["recordings"]
        if recordings["format"] not in ICEEG_FORMATS:
            continue
        for sfreq, shortest, what in _schedules(f"datasets.{name}.recordings", recordings):
            try:
                check_bands(bands, sfreq, "preprocessing.bands")
            except ValueError as err:
                raise ValueError(f"{err} of {what}") from err
            check_schedule(windows, baseline, shortest, what, key="preprocessing.")


def _schedules(key: str, recordings: dict):
    """``(sfreq, shortest onset interval, description)`` of a synthetic or BIDS dataset."""
    from brainnet.preprocessing.settings import check_interval

    if recordings["format"] == "synthetic":
        isi = check_interval(recordings["isi"], f"{key}.isi")
        band = check_interval(recordings["band"], f"{key}.band")
        if band[1] >= recordings["sfreq"] / 2:
            raise ValueError(
                f"{key}.band {list(band)} Hz reaches the Nyquist frequency "
                f"({recordings['sfreq'] / 2:g} Hz) of {key}.sfreq"
            )
        shortest = recordings["duration"] + isi[0]
        yield recordings["sfreq"], shortest, key
        return
    from brainnet.datasets import subjects
    from brainnet.recordings.bids import read_schedule

    if not Path(recordings["path"]).is_dir():
        return  # nothing to check against: listing its subjects names the missing folder
    entities = {k: recordings.get(k) for k in ("task", "session", "run", "acquisition")}
    for subject in subjects(recordings):
        sfreq, onsets = read_schedule(recordings["path"], subject, **entities)
        shortest = float(np.diff(onsets).min()) if onsets.size > 1 else np.inf
        yield sfreq, shortest, f"sub-{subject} of {key}.path"


def _check_permutations(config: dict) -> None:
    """Permutation tests must run, and should be able to reach their alpha; a family-wise
    RSA criterion cannot stop pairs early.

    ``n_permutations: 0`` skips a test, so every p-value and the pair-level
    alignment statistics would be NaN: refused. Fewer permutations than the
    smallest p-value, ``1 / (1 + n_permutations)``, needs to reach the
    significance level leave no pair significant: a warning names the key
    (cheap test runs do this on purpose).
    """
    methods = {m for dataset in config["datasets"].values() for m in analyses(dataset)}
    checks = [("gradient", "n_permutations", "alpha")]
    if "encoding" in methods:
        checks.append(("encoding", "n_permutations", "fdr_alpha"))
    if "rsa" in methods:
        checks.append(("rsa", "n_permutations", "alpha"))
    if "cka" in methods:
        checks.append(("cka", "n_permutations", "alpha"))
    if config["rsa"]["criterion"] in ("maxstat", "cluster") and config["rsa"]["stopping"]:
        raise ValueError(
            f"rsa.criterion {config['rsa']['criterion']!r} needs every permutation of every "
            "pair: set rsa.stopping to null"
        )
    for section, count, level in checks:
        n, alpha = config[section][count], config[section][level]
        needed = int(np.ceil(1 / alpha)) - 1
        if n == 0:
            raise ValueError(
                f"{section}.{count} is 0: the workflow's significance tests and the "
                f"pair-level alignment statistics need permutations; use at least {needed}"
            )
        if 1 / (1 + n) > alpha:
            logger.warning(
                "%s.%s is %d: the smallest possible p-value, 1 / (1 + %d), is above "
                "%s.%s = %g, so no pair can be significant and the pair-level alignment "
                "statistics will be NaN; use at least %d",
                section, count, n, n, section, level, alpha, needed,
            )  # fmt: skip


def check_partition_layers(
    config: dict, layers: dict[str, Iterable[str]], source: str = "config"
) -> None:
    """Every feature set of ``partition.pairs`` names a layer of its model.

    Parameters
    ----------
    config : dict
        The loaded config.
    layers : dict
        Model name to its layer names (from :func:`brainnet.models.check_model`),
        known before any job runs.
    source : str
        How the message names the config file.

    Raises
    ------
    ConfigError
        Naming the pair's entry, the model's layers and the closest one.
    """
    for pair in config["partition"]["pairs"]:
        for name in pair:
            model, _, layer = name.partition("/")
            known = list(layers.get(model, ()))
            if layer not in known:
                raise ConfigError(
                    f"{source}: partition.pairs: {name!r}: model {model!r} has no layer "
                    f"{layer!r}; its layers are {known}" + _closest(layer, known)
                )


def _check_partition(config: dict) -> None:
    """Every feature set of ``partition.pairs`` names a configured model."""
    for pair in config["partition"]["pairs"]:
        for name in pair:
            model = name.partition("/")[0]
            if model not in config["models"]:
                raise ValueError(
                    f"partition.pairs: {name!r} names the unknown model {model!r}; the "
                    f"configured models are {sorted(config['models'])}"
                    + _closest(model, config["models"])
                )


def _schema_message(err, source) -> str:
    """One line naming the key at fault and what is wrong with it, with a fix where obvious."""
    cause = err.__context__
    if not isinstance(cause, ValidationError):
        return f"{source}: {err}"
    key = ".".join(str(part) for part in cause.absolute_path) or "top level"
    message = f"{source}: {key}: {cause.message}"
    if cause.validator == "required" and not cause.absolute_path:
        missing = [name for name in cause.validator_value if name not in cause.instance]
        message += (
            f". A config given with --configfile replaces config/config.yaml; to change "
            f"only some keys, give both: --configfile config/config.yaml {source}"
            if {"datasets", "models"} & set(missing)
            else ""
        )
    elif cause.validator == "additionalProperties" and isinstance(cause.instance, dict):
        known = cause.schema.get("properties", {})
        for name in cause.instance:
            if name not in known:
                message += _closest(name, known)
                break
    elif cause.validator == "enum":
        message += _closest(cause.instance, [str(v) for v in cause.validator_value])
    return message


def _closest(name, choices) -> str:
    """`` (did you mean X?)`` for the choice closest to ``name``, or nothing."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# Names become folders of the results: one path component, and no model may take the
# name of a folder that the dataset's own outputs use.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
_DATASET_FOLDERS = ("activations", "bids", "figures", "responses")


def _check_names(config, source) -> None:
    """Dataset and model names that are usable as folder names and do not collide."""
    for section in ("datasets", "models"):
        for name in config[section]:
            if not _NAME.fullmatch(str(name)):
                raise ConfigError(
                    f"{source}: {section}.{name!r}: a name must start with a letter or digit "
                    "and hold only letters, digits and _ . + - (it names a results folder)"
                )
    taken = sorted(set(map(str, config["models"])) & set(_DATASET_FOLDERS))
    if taken:
        raise ConfigError(
            f"{source}: models.{taken[0]}: {taken[0]!r} is the name of a results folder of "
            f"every dataset ({', '.join(_DATASET_FOLDERS)}); rename the model"
        )


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
    """The methods that apply to a dataset: RSA and CKA only for precomputed RDMs.

    RSA is ``rsa`` (channel level), ``rsa_region`` (region level) or both, as
    ``rsa_level`` (the config's ``rsa.level``) asks; CKA (``cka``) runs where
    the dataset's ``analyses`` name it.
    """
    wanted = tuple(dataset.get("analyses") or DEFAULT_METHODS)
    if dataset["recordings"]["format"] in RDM_FORMATS:
        wanted = tuple(m for m in wanted if m != "encoding")
    levels = {"channel": ("rsa",), "region": ("rsa_region",), "both": ("rsa", "rsa_region")}
    return tuple(name for m in wanted for name in (levels[rsa_level] if m == "rsa" else (m,)))


def dataset_models(config: dict, dataset: str) -> list[str]:
    """The models analysed for ``dataset`` (all configured models by default)."""
    return list(config["datasets"][dataset].get("models") or config["models"])


def dataset_partition_pairs(config: dict, dataset: str) -> list[list[str]]:
    """The ``partition.pairs`` that apply to ``dataset``: both models analysed there, and
    responses to encode (not precomputed RDMs)."""
    if "encoding" not in analyses(config["datasets"][dataset]):
        return []
    models = set(dataset_models(config, dataset))
    return [
        list(pair)
        for pair in config["partition"]["pairs"]
        if all(name.partition("/")[0] in models for name in pair)
    ]


def partition_models(config: dict, dataset: str) -> list[str]:
    """The models whose activations ``dataset``'s variance partitioning reads, in pair order."""
    pairs = dataset_partition_pairs(config, dataset)
    return list(dict.fromkeys(name.partition("/")[0] for pair in pairs for name in pair))


def targets(config: dict) -> list[str]:
    """Every final output of a run, relative to the working directory."""
    root = config["results_dir"]
    out = [f"{root}/summary.csv", f"{root}/comparisons.csv"]
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
        if dataset["recordings"]["format"] in ICEEG_FORMATS:  # contacts with positions
            out += [
                f"{root}/{name}/{model}/figures/glass_brain_{method}.png"
                for model in models
                for method in methods
                if method not in REGION_METHODS  # one score per region: no contacts to place
            ]
        out.append(f"{root}/{name}/figures/model_comparison.png")
        if dataset_partition_pairs(config, name):
            out.append(f"{root}/{name}/figures/partition.png")
        if dataset["recordings"]["format"] == "synthetic":
            out.append(f"{root}/{name}/figures/single_trials.png")
            for model in models:
                if model == dataset["recordings"]["reference_model"]:
                    out.extend(f"{root}/{name}/{model}/figures/recovery_{m}.png" for m in methods)
    return out
