"""Which pairs of a dataset's models to compare, and their paired comparisons together.

:func:`model_pairs` turns the ``comparison.pairs`` setting into the
``(model_a, model_b)`` pairs of one dataset (a trained model always before
its random-weights control); :func:`compare_models` runs
:func:`~brainnet.gradient.paired.paired_comparison` for every pair of one
method and stacks them into the dataset's ``comparisons_<method>.nc``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import xarray as xr

from brainnet.gradient.paired import paired_comparison
from brainnet.log import set_log_level

__all__ = ["compare_models", "model_pairs"]


def compare_models(
    scores: Mapping[str, xr.Dataset],
    pairs: Sequence[tuple[str, str]],
    *,
    method: str,
    stimulus_ids: Mapping[str, Sequence[str]] | None = None,
    dataset: str | None = None,
    verbose: bool | str | None = None,
    **settings,
) -> xr.Dataset:
    """Paired comparisons of several pairs of models of one dataset and method.

    Parameters
    ----------
    scores : mapping of str to xarray.Dataset
        Model name to its channel-level scores (``encoding.nc`` or
        ``rsa.nc``), for every model in ``pairs``.
    pairs : sequence of (str, str)
        ``(model_a, model_b)`` pairs (see :func:`model_pairs`); differences
        are A minus B.
    method : ``"encoding"`` | ``"rsa"``
        Which kind of scores ``scores`` holds.
    stimulus_ids : mapping of str to sequence of str | None
        The ``stimulus_id`` values of each model's activations; a pair whose
        models differ is refused.
    dataset : str | None
        Name stored in the attributes.
    verbose : bool | str | None
        Logging level (see :func:`brainnet.set_log_level`).
    **settings
        Passed to :func:`~brainnet.gradient.paired.paired_comparison`
        (``n_bootstrap``, ``n_permutations``, ``ci``, ``exchange``,
        ``ceiled``, ``seed``).

    Returns
    -------
    comparisons : xarray.Dataset
        The variables of :func:`~brainnet.gradient.paired.paired_comparison`
        over ``(pair, region, band, window)`` and ``(pair, band, window)``,
        pairs labelled ``"<model_a> - <model_b>"`` with coordinates
        ``model_a``, ``model_b`` and ``layer_axis``; attributes ``method``,
        ``score``, ``dataset`` and the settings. Every pair uses the same
        resamples and swaps.

    Raises
    ------
    KeyError
        When ``scores`` lacks a model of ``pairs``.
    ValueError
        When ``pairs`` is empty.
    """
    set_log_level(verbose)
    if not pairs:
        raise ValueError("paired comparison: no pair of models to compare")
    missing = sorted({model for pair in pairs for model in pair} - set(scores))
    if missing:
        raise KeyError(
            f"paired comparison ({method}): no scores of model(s) {missing}; "
            f"scores are given for {sorted(scores)}"
        )
    by_pair = []
    for a, b in pairs:
        ids = None if stimulus_ids is None else (stimulus_ids[a], stimulus_ids[b])
        one = paired_comparison(
            scores[a], scores[b], method=method, model_a=a, model_b=b, stimulus_ids=ids,
            **settings,
        )  # fmt: skip
        by_pair.append(
            one.expand_dims(pair=[f"{a} - {b}"]).assign_coords(
                model_a=("pair", [a]),
                model_b=("pair", [b]),
                layer_axis=("pair", [one.attrs["layer_axis"]]),
            )
        )
    comparisons = xr.concat(by_pair, dim="pair", combine_attrs="drop_conflicts")
    for key in ("model_a", "model_b", "layer_axis"):
        comparisons.attrs.pop(key, None)
    if dataset is not None:
        comparisons.attrs["dataset"] = str(dataset)
    return comparisons


def model_pairs(
    models: Sequence[str],
    pairs: str | Sequence[Sequence[str]] = "all",
    *,
    control_of: Mapping[str, str | None] | None = None,
    configured: Sequence[str] | None = None,
) -> list[tuple[str, str]]:
    """The ``(model_a, model_b)`` pairs of a dataset's models to compare.

    Parameters
    ----------
    models : sequence of str
        The models analysed on the dataset, in config order.
    pairs : ``"all"`` | ``"controls"`` | sequence of (str, str)
        ``"all"``: every pair of ``models``, in config order (A the earlier);
        ``"controls"``: only each trained model against its random-weights
        control; or explicit pairs, kept where both models are in ``models``.
    control_of : mapping of str to str | None
        For a random-weights control, the name of its trained model. A pair
        of a trained model and its control is always (trained, control), so
        the difference reads "trained minus control".
    configured : sequence of str | None
        Every model an explicit pair may name (default: ``models``); a pair
        naming any other model is refused.

    Returns
    -------
    pairs : list of (str, str)

    Raises
    ------
    ValueError
        When an explicit pair names an unknown model, the same model twice,
        or is not a pair.
    """
    control_of = dict(control_of or {})
    trained = {control: model for control, model in control_of.items() if model}
    if isinstance(pairs, str):
        if pairs not in ("all", "controls"):
            raise ValueError(
                f"comparison.pairs must be 'all', 'controls' or a list, got {pairs!r}"
            )
        found = [
            (b, a) if trained.get(a) == b else (a, b)
            for i, a in enumerate(models)
            for b in models[i + 1 :]
        ]
        if pairs == "controls":
            found = [(a, b) for a, b in found if trained.get(b) == a]
        return found
    known = set(configured if configured is not None else models)
    found = []
    for pair in pairs:
        if isinstance(pair, str) or len(pair) != 2 or pair[0] == pair[1]:
            raise ValueError(f"comparison.pairs: {pair!r} is not a pair of two distinct models")
        unknown = [name for name in pair if name not in known]
        if unknown:
            raise ValueError(
                f"comparison.pairs: {list(pair)} names unknown model(s) {unknown}; "
                f"the models are {sorted(known)}"
            )
        if all(name in models for name in pair) and tuple(pair) not in found:
            found.append((str(pair[0]), str(pair[1])))
    return found
