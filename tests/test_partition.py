"""Variance partitioning by banded ridge (brainnet.encoding.partition)."""

import numpy as np
import pytest
from scipy import stats
from threadpoolctl import threadpool_limits

from brainnet.encoding import partition_variance
from brainnet.plots import plot_partition
from encoding_data import activations_dataset, responses_dataset

PLANTED = 0.4


@pytest.fixture(scope="module")
def planted():
    """Two layers with 6 features each, 4 of their own and 2 they share. Channel 0
    reads A's own features, channel 1 the shared ones, channel 2 B's own, each with
    variance PLANTED out of 1; two windows each."""
    rng = np.random.default_rng(0)
    n = 300
    own_a, own_b, common = (rng.standard_normal((n, k)) for k in (4, 4, 2))
    activations = activations_dataset(
        {"a": np.hstack([own_a, common]), "b": np.hstack([own_b, common])}
    )
    signals = [stats.zscore(x @ rng.standard_normal(x.shape[1])) for x in (own_a, common, own_b)]
    values = np.sqrt(1 - PLANTED) * rng.standard_normal((n, 3, 2))
    for c, signal in enumerate(signals):
        values[:, c] += np.sqrt(PLANTED) * signal[:, None]
    ids = activations["stimulus_id"].values
    responses = responses_dataset(values, ids, regions=["own A", "shared", "own B"])
    with threadpool_limits(1):  # himalaya's small products oversubscribe BLAS threads
        result = partition_variance(activations, "a", activations, "b", responses, n_folds=3)
    return result


def covers(result, name, value, channel):
    low = result[f"{name}_low"].isel(channel=channel).values
    high = result[f"{name}_high"].isel(channel=channel).values
    return ((low <= value) & (value <= high)).all()


def test_planted_unique_and_shared_variance_are_recovered_within_their_intervals(planted):
    expected = {  # channel: (unique_a, unique_b, shared)
        0: (PLANTED, 0.0, 0.0),
        1: (0.0, 0.0, PLANTED),
        2: (0.0, PLANTED, 0.0),
    }
    for channel, values in expected.items():
        for name, value in zip(("unique_a", "unique_b", "shared"), values, strict=True):
            assert covers(planted, name, value, channel), (channel, name)
    # the point estimates land near the planted value, with a resolvable interval
    assert (planted["unique_a"].isel(channel=0) > 0.3).all()
    assert (planted["shared"].isel(channel=1) > 0.3).all()
    assert (planted["unique_a_low"].isel(channel=0) > 0.2).all()
    assert planted.attrs["feature_a"] == "toy/a" and planted.attrs["feature_b"] == "toy/b"


def test_partition_refuses_a_missing_layer_and_other_stimuli(planted):
    activations = activations_dataset({"a": np.ones((10, 2)) * np.arange(10)[:, None]})
    responses = responses_dataset(np.zeros((10, 1, 1)), activations["stimulus_id"].values)
    with pytest.raises(ValueError, match="no layer 'c'"):
        partition_variance(activations, "a", activations, "c", responses)
    other = activations.assign_coords(stimulus_id=("stimulus", [f"x{i}" for i in range(10)]))
    with pytest.raises(ValueError, match="x0"):
        partition_variance(activations, "a", other, "a", responses)


def test_partition_figure_draws_each_regions_mean(planted, tmp_path):
    pairs = planted.expand_dims(pair=["toy/a vs toy/b"]).assign_coords(
        feature_a=("pair", ["toy/a"]), feature_b=("pair", ["toy/b"])
    )
    fig = plot_partition(pairs, tmp_path / "partition.png")
    assert (tmp_path / "partition.png").stat().st_size and (tmp_path / "partition.svg").exists()
    ax = fig.axes[0]
    # the band and window of the best joint R² averaged over channels
    joint = planted["r2_joint"].mean("channel").values.ravel()
    cell = planted.isel(band=0, window=int(np.argmax(joint)))
    heights = [bar.get_height() for bar in ax.patches]
    # one channel per region, ranks 0, 1, 2: rank 0 (outside the hierarchy) drawn last
    order = [1, 2, 0]
    expected = [cell[name].values[c] for name in ("unique_a", "shared", "unique_b") for c in order]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["shared", "own B", "own A"]
    np.testing.assert_allclose(heights, expected)
    with pytest.raises(KeyError, match="partition_pairs"):
        plot_partition(planted)
