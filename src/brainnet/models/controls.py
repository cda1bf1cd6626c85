"""The random-weights control of the reference study, one config key per model.

A model entry with ``control: random`` stands for two models: the entry as
written (``efficientnet_lite0``, trained) and its control, the same
architecture, layers and reductions with seeded random weights, named
``efficientnet_lite0_random`` and marked ``control_of: efficientnet_lite0``.
The control is added to the config's ``models`` right after its trained
model, and to every dataset's ``models`` list that names the trained one, so
that every stage of the workflow runs it beside the trained network.
"""

from __future__ import annotations

__all__ = ["CONTROL_SUFFIX", "control_name", "expand_controls"]

#: Appended to a model's name to name its random-weights control.
CONTROL_SUFFIX = "_random"


def control_name(name: str) -> str:
    """The name of the random-weights control of model ``name``."""
    return f"{name}{CONTROL_SUFFIX}"


def _control_entry(name: str, entry: dict) -> dict:
    control = {k: v for k, v in entry.items() if k not in ("control", "weights")}
    return {**control, "weights": None, "control_of": name}


def expand_controls(config: dict) -> None:
    """Add the control of every ``control: random`` model entry to ``config``, in place.

    Running it again on an expanded config changes nothing.

    Raises
    ------
    ValueError
        When a model with a control is untrained already, when the control's
        name is taken by another entry, or when a ``control_of`` entry does
        not name a model of the same architecture.
    """
    models: dict[str, dict] = {}
    for name, entry in config["models"].items():
        models.setdefault(name, entry)
        if entry.get("control") is None:
            continue
        if entry.get("weights") is None:
            raise ValueError(
                f"models.{name}: 'control: {entry['control']}' needs trained weights; "
                "the entry has 'weights: null' and is its own random-weights network"
            )
        control, made = control_name(name), _control_entry(name, entry)
        if config["models"].get(control, made) != made:
            raise ValueError(
                f"models.{name}: its random-weights control is named {control!r}, "
                "which another model entry already uses; rename that entry"
            )
        models[control] = made
    config["models"] = models
    for name, entry in models.items():
        _check_control_of(name, entry, models)
    for dataset in config["datasets"].values():
        if dataset.get("models"):
            dataset["models"] = list(dict.fromkeys(_with_controls(dataset["models"], models)))


def _with_controls(names, models):
    for name in names:
        yield name
        if (models.get(name) or {}).get("control") is not None:
            yield control_name(name)


def _check_control_of(name: str, entry: dict, models: dict) -> None:
    trained = entry.get("control_of")
    if trained is None:
        return
    if trained not in models:
        raise ValueError(
            f"models.{name}.control_of is {trained!r}, which is not a configured model"
        )
    for key in ("arch", "factory"):
        if models[trained].get(key) != entry.get(key):
            raise ValueError(
                f"models.{name}.control_of is {trained!r}, but their {key} differ "
                f"({entry.get(key)!r} against {models[trained].get(key)!r})"
            )
