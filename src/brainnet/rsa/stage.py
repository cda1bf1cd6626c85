"""The RSA stages: every layer against every channel, region or precomputed brain RDM.

:func:`rsa_scores` builds one scalar brain RDM per channel, band and window
(or one per subject and region) from the responses, as Kuzovkin et al. (2018)
do (see :mod:`brainnet.rsa`); :func:`rsa_precomputed` reads brain RDMs
computed elsewhere. Both test every layer with the same permutations and
return the scores as an :class:`xarray.Dataset`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainnet.correction import FAMILY_CORRECTIONS
from brainnet.device import accelerator
from brainnet.join import align_responses, layer_names
from brainnet.log import logger, set_log_level
from brainnet.responses import RESPONSE_DIMS
from brainnet.rsa._checks import _check_choice
from brainnet.rsa._engine import _Test
from brainnet.rsa._family import _family_scores
from brainnet.rsa._inputs import (
    _align_brain_rdms,
    _broadband,
    _channel_labels,
    _check_finite,
    _model_rdms,
    _provenance,
    _tested_mask,
)
from brainnet.rsa._memory import check_memory, check_size, rsa_sizes
from brainnet.rsa._region import _precomputed_units, _region_dataset, _region_units
from brainnet.rsa._scoring import _channel_dataset, _channel_scores
from brainnet.rsa.permutation import PERMUTATION_METHODS, _check_test_settings, make_permutations
from brainnet.rsa.rdm import FEATURE_SCALINGS, METRICS, to_vectors

_LEVELS = ("channel", "region")


def rsa_scores(
    activations: xr.Dataset,
    responses: xr.Dataset,
    *,
    level: str = "channel",
    metric: str = "euclidean",
    feature_scaling: str = "standard",
    method: str = "spearman",
    n_permutations: int = 10000,
    stopping: str | None = None,
    h: int | None = None,
    criterion: str = "p",
    alpha: float = 0.001,
    responsive_only: bool = True,
    region_metric: str = "euclidean",
    n_bootstrap: int = 100,
    seed: int = 0,
    chunk: int | str = "auto",
    block: int | str = "auto",
    memory_gb: float | None = None,
    device: str = "cpu",
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """RSA between every layer and every channel (or region), band and window.

    Parameters
    ----------
    activations : xarray.Dataset
        One variable per layer, dims ``(stimulus, feature_<layer>)``, coordinate
        ``stimulus_id``; attribute ``layers`` gives the layer order.
    responses : xarray.Dataset
        ``response (stimulus, channel, band, window)`` with coordinate
        ``stimulus_id`` and channel coordinates ``subject``, ``region``,
        ``region_rank``; optional ``responsive (channel, band, window)``.
        Joined to the activations on ``stimulus_id`` (a mismatch raises
        ``ValueError`` naming the ids).
    level : ``"channel"`` | ``"region"``
        ``"channel"``: one scalar brain RDM ``|r_i - r_j|`` per channel, band
        and window (Kuzovkin et al. 2018). ``"region"``: per subject, the RDM
        of the response patterns over the subject's responsive channels in a
        region (each channel z-scored over stimuli, distance
        ``region_metric``); the region score is the mean over subjects of the
        similarity with each subject's RDM, tested with the same permutations,
        with noise ceilings across subjects (:func:`noise_ceiling`). Pooling
        the channels of a region tells neighbouring layers apart far better
        than single channels do: a channel's scalar RDM is one random
        direction of a layer's geometry (``docs/rsa_bias.md``).
    metric : ``"euclidean"`` | ``"correlation"`` | ``"cosine"``
        Distance of the model RDMs (the reference study: ``"euclidean"``).
    feature_scaling : ``"standard"`` | ``"none"``
        ``"standard"`` (the default) z-scores every feature of a layer over the
        stimuli before its RDM (see :func:`compute_rdm`); ``"none"`` uses the
        activations as they are, as the reference study does. A network's unit
        scales are arbitrary (rescaling a unit and the weights it feeds leaves
        the network's function unchanged), and an encoding model fitted to
        standardised features with a ridge penalty predicts response
        differences whose expected square is the squared Euclidean distance of
        the standardised features (Diedrichsen and Kriegeskorte 2017). Raw
        distances are dominated by a layer's few largest units: in untrained
        AlexNet the raw conv4 RDM matches conv5's standardised geometry better
        than conv5's own raw RDM does (``docs/rsa_bias.md``).
    method : ``"spearman"`` | ``"pearson"`` | ``"spearman_full"``
        RDM comparison (see :func:`compare_rdms`).
    n_permutations : int
        Stimulus-label permutations per test; 0 gives similarities only
        (``p`` NaN).
    stopping, h, criterion, alpha
        See :func:`permutation_test`. The FDR family is every tested pair of
        one band and window. Two more criteria correct over each channel's
        (or region's) band x window grid, per layer, from the same
        permutations (see :mod:`brainnet.correction`): ``"maxstat"``
        (Westfall-Young max-T) and ``"cluster"`` (cluster-based permutation
        over adjacent bands and windows), significant where the family-wise
        p ``p_fwer <= alpha``. They need every permutation of every pair, so
        not ``stopping``.
    responsive_only : bool
        Test only the channels flagged ``responsive`` for a band and window
        (the others get ``rho`` but ``p`` NaN and are never significant) and
        build region RDMs from responsive channels only. Without a
        ``responsive`` variable every channel counts as responsive.
    region_metric : ``"euclidean"`` | ``"correlation"`` | ``"cosine"``
        Distance of the region RDMs (``level="region"``); correlation and
        cosine need at least 2 channels of a subject in the region.
    n_bootstrap : int
        ``level="region"``: contact resamples of each subject's region RDM
        where the region has a significant match (``subject_rho_bootstrap``);
        with the subjects resampled downstream this is the hierarchical
        bootstrap of the region score (:func:`brainnet.gradient.gradient_statistics`
        with ``method="rsa_region"``). 0 skips it; ignored at channel level.
    seed : int
        Seed of the permutations (the same permutations serve every test) and
        of the contact resamples.
    chunk, block : int | ``"auto"``
        Brain RDMs scored together (memory about ``3 x chunk x n_pairs x 4``
        bytes) and permutations per matrix product (``block x n_pairs x 4``).
        ``"auto"`` (the default): as many as fit in ``memory_gb``, up to 2,048
        and 256 (see :mod:`brainnet.rsa._memory`). Results do not depend on
        them.
    memory_gb : float | None
        The budget of the ``"auto"`` sizes; None: half the memory available
        when the test starts.
    device : ``"cpu"`` | ``"cuda"`` | ``"cuda:N"`` | ``"auto"``
        Where the permutation products run: ``"cpu"`` (default) NumPy, the
        reference; a CUDA device, torch there (:mod:`brainnet.rsa._device`), with
        the same p-values (ties still decided in float64). See
        :func:`brainnet.device.resolve_device`.
    verbose : bool | str | int | None
        Logging level (see :func:`brainnet.set_log_level`).

    Returns
    -------
    scores : xarray.Dataset
        ``level="channel"``: over ``(layer, channel, band, window)``: ``rho``,
        ``p``, ``significant`` and ``n_permutations`` (used for each pair;
        fewer with sequential stopping, 0 when untested), and
        ``responsive (channel, band, window)``; the channel, band and window
        coordinates of ``responses`` and ``layer_index`` on ``layer``.
        ``level="region"``: the same four variables over
        ``(layer, region, band, window)``; ``subject_rho (layer, region,
        subject, band, window)``, each subject's similarity (NaN where the
        subject has no RDM for the region); Net2Brain's ``r2``, ``r2_sem``,
        ``r2_p`` and ``r2_percent`` (:func:`r2_statistics`); over ``(region,
        band, window)`` the noise ceilings ``noise_ceiling_lower`` and
        ``noise_ceiling_upper`` (rsatoolbox's) and
        ``net2brain_noise_ceiling_lower`` and ``_upper`` (Net2Brain's, in R²),
        all NaN with fewer than 2 subjects, ``n_subjects`` and
        ``n_channels``; ``region_rank`` on ``region``;
        ``subject_rho_bootstrap (bootstrap, layer, region, subject, band,
        window)`` with ``n_bootstrap``. Attributes hold the settings and the
        model provenance.
    """
    set_log_level(verbose)
    settings = _check_stage_settings(locals())
    _check_choice(region_metric, METRICS, "region_metric")
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an integer >= 0, got {n_bootstrap!r}")
    layers = layer_names(activations)
    responses = align_responses(activations, responses, ("subject", "region"))
    response = responses["response"].transpose(*RESPONSE_DIMS)
    values = np.asarray(response.values, dtype=np.float64)
    _check_finite(values, response)
    tested = _tested_mask(responses, response, responsive_only)
    test = _stage_test(activations, layers, len(values), settings, seed, locals())
    logger.info(
        "rsa (%s level): %d layers, %d channels x %d bands x %d windows (%d tested), "
        "%d stimuli, %d permutations, stopping=%s",
        level,
        len(layers),
        *values.shape[1:],
        int(tested.sum()),
        len(values),
        n_permutations,
        stopping,
    )
    if level == "channel":
        out = _score_channels(test, values, tested, test.chunk, True, criterion)
        ds = _channel_dataset(out, response, layers, tested, criterion, alpha)
    else:
        ds = _region_dataset(
            test,
            _region_units(values, tested, response, region_metric),
            response,
            layers,
            criterion,
            alpha,
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
    ds.attrs.update(
        _provenance(activations),
        **settings,
        responsive_only=responsive_only,
        region_metric=region_metric,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    return ds


def rsa_precomputed(
    activations: xr.Dataset,
    brain_rdms: xr.Dataset,
    *,
    level: str = "channel",
    metric: str = "euclidean",
    feature_scaling: str = "standard",
    method: str = "spearman",
    n_permutations: int = 10000,
    stopping: str | None = None,
    h: int | None = None,
    criterion: str = "p",
    alpha: float = 0.001,
    seed: int = 0,
    chunk: int | str = "auto",
    block: int | str = "auto",
    memory_gb: float | None = None,
    device: str = "cpu",
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """RSA between every layer and precomputed brain RDMs (fMRI ROIs, neuron populations).

    Parameters
    ----------
    activations : xarray.Dataset
        As for :func:`rsa_scores`.
    brain_rdms : xarray.Dataset
        ``rdm (channel, stimulus, stimulus_other)`` with coordinate
        ``stimulus_id`` (and optionally ``stimulus_other_id``, which must
        repeat it); every ``channel`` is one RDM source (e.g. subject x ROI)
        with coordinates ``subject``, ``region`` and ``region_rank`` (see
        :mod:`brainnet.recordings.rdms`). Joined to the activations on
        ``stimulus_id`` (both axes are reordered to the activations).
    level : ``"channel"`` | ``"region"``
        ``"channel"``: one test per RDM source. ``"region"``: per region, the
        mean over subjects (each subject's RDMs averaged first) of the
        similarity with the model, tested with the same permutations, with
        noise ceilings across subjects (:func:`noise_ceiling`, leave one
        subject out).
    metric, method, n_permutations, stopping, h, criterion, alpha, seed, chunk, block
    memory_gb, device, verbose
        As for :func:`rsa_scores`.

    Returns
    -------
    scores : xarray.Dataset
        As for :func:`rsa_scores`, with the single band ``"broadband"`` and
        the single window ``"all"``.
    """
    set_log_level(verbose)
    settings = _check_stage_settings(locals())
    layers = layer_names(activations)
    rdm = _align_brain_rdms(activations, brain_rdms)
    labels = [f"brain_rdms channel {c!s}" for c in _channel_labels(rdm)]
    vectors = np.stack([to_vectors(m, name) for m, name in zip(rdm.values, labels, strict=True)])
    test = _stage_test(activations, layers, rdm.sizes["stimulus"], settings, seed, locals())
    template = _broadband(rdm)
    if level == "channel":
        tested = np.ones(template.shape[1:], dtype=bool)
        out = _score_channels(
            test, vectors.T[:, :, None, None], tested, test.chunk, False, criterion
        )
        ds = _channel_dataset(out, template, layers, tested, criterion, alpha)
    else:
        units = _precomputed_units(vectors, rdm)
        ds = _region_dataset(test, units, template, layers, criterion, alpha)
    ds.attrs.update(_provenance(activations), **settings, seed=seed)
    return ds


def _check_stage_settings(arguments: dict) -> dict:
    """Validate the settings both stages share, picked from a stage's arguments.

    Returns
    -------
    settings : dict
        The settings as the scores' attributes record them (``chunk``, ``block``
        and ``memory_gb`` aside, which change no result),
        with ``h`` resolved by :func:`_check_test_settings` (None without
        stopping).
    """
    level, metric, feature_scaling, method, n_permutations = (
        arguments[key]
        for key in ("level", "metric", "feature_scaling", "method", "n_permutations")
    )
    stopping, h, criterion, alpha = (arguments[k] for k in ("stopping", "h", "criterion", "alpha"))
    _check_choice(level, _LEVELS, "level")
    _check_choice(metric, METRICS, "metric")
    _check_choice(feature_scaling, FEATURE_SCALINGS, "feature_scaling")
    _check_choice(method, PERMUTATION_METHODS, "method")
    if int(n_permutations) != n_permutations or n_permutations < 0:
        raise ValueError(f"n_permutations must be an integer >= 0, got {n_permutations!r}")
    check_size(arguments["chunk"], "chunk")
    check_size(arguments["block"], "block")
    check_memory(arguments["memory_gb"])
    family = criterion in FAMILY_CORRECTIONS
    if family and stopping is not None:
        raise ValueError(
            f"rsa.criterion {criterion!r} needs every permutation of every pair: "
            "set rsa.stopping to null"
        )
    h = _check_test_settings(stopping, h, "p" if family else criterion, alpha, n_permutations)
    return {
        "level": level,
        "metric": metric,
        "feature_scaling": feature_scaling,
        "method": method,
        "n_permutations": n_permutations,
        "stopping": stopping,
        "h": h,
        "criterion": criterion,
        "alpha": alpha,
    }


def _score_channels(test, values, tested, chunk, scalar, criterion) -> dict:
    """Channel-level scores, with the family-wise corrected p where ``criterion`` asks."""
    if criterion in FAMILY_CORRECTIONS and test.n_permutations:
        return _family_scores(test, values, tested, chunk, scalar, criterion)
    return _channel_scores(test, values, tested, chunk, scalar=scalar)


def _stage_test(
    activations, layers, n_stimuli: int, settings: dict, seed: int, arguments: dict
) -> _Test:
    """The permutation test of every layer's RDM; the permutations of ``seed`` serve
    every brain RDM. Its ``chunk`` is the number of brain RDMs to score together, its
    sizes and device those the stage's ``arguments`` ask for."""
    device = accelerator(arguments["device"], "rsa.device")
    models = _model_rdms(activations, layers, settings["metric"], settings["feature_scaling"])
    permutations = make_permutations(n_stimuli, settings["n_permutations"], seed)
    sizes = rsa_sizes(
        models.shape[1], arguments["block"], arguments["chunk"], arguments["memory_gb"]
    )
    return _Test(
        models,
        settings["method"],
        permutations,
        settings["h"],
        sizes,
        device=device,
    )
