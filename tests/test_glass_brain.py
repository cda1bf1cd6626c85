"""Contacts on a glass brain: preferred layers of channels, placed by MNI coordinates."""

import matplotlib as mpl
import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import PathCollection

from brainnet.gradient import channel_preferred_layers, gradient_statistics

pytest.importorskip("nilearn")
from brainnet.plots.brain import plot_glass_brain  # noqa: E402 (needs nilearn)

LAYERS = ["pixels", "conv1", "conv2", "conv3", "conv4"]
DIMS = ("layer", "channel", "band", "window")
PER_REGION = 6


def planted_scores():
    """Regions of rank k peak at layer k in high gamma only; contacts run back to front."""
    rng = np.random.default_rng(0)
    rank = np.repeat([1, 2, 3, 4], PER_REGION)
    layers = np.arange(len(LAYERS))[:, None]
    peaked = 0.5 - 0.1 * np.abs(layers - rank[None]) + rng.normal(0, 0.01, (5, len(rank)))
    flat = rng.normal(0, 0.01, peaked.shape)
    values = np.stack([flat, peaked], axis=-1)[..., None]  # bands: alpha, high_gamma
    significant = np.zeros(values.shape, bool)
    significant[..., 1, 0] = layers == rank[None]
    p = np.where(significant, 1e-4, 0.5)
    return xr.Dataset(
        {"r": (DIMS, values), "p": (DIMS, p), "p_fdr": (DIMS, p)},
        coords={
            "layer": LAYERS,
            "layer_index": ("layer", np.arange(len(LAYERS))),
            "channel": [f"c{i}" for i in range(len(rank))],
            "subject": ("channel", [f"s{i % 3}" for i in range(len(rank))]),
            "region": ("channel", [f"R{k}" for k in rank]),
            "region_rank": ("channel", rank),
            "x": ("channel", np.where(np.arange(len(rank)) % 2, 35.0, -35.0)),
            "y": ("channel", -95.0 + 20 * rank),
            "z": ("channel", np.full(len(rank), -12.0)),
            "band": ["alpha", "high_gamma"],
            "fmin": ("band", [9.0, 70.0]),
            "fmax": ("band", [14.0, 150.0]),
            "window": ["150-350"],
            "tmin": ("window", [0.15]),
            "tmax": ("window", [0.35]),
        },
        attrs={"dataset": "toy", "model": "net"},
    )


@pytest.fixture(scope="module")
def planted():
    scores = planted_scores()
    gradient = gradient_statistics(scores, method="encoding", n_bootstrap=100, n_permutations=100)
    return scores, gradient


def _coloured(fig):
    """Per view, the colours of the markers of contacts that have a preferred layer."""
    views = []
    for ax in fig.axes:
        for points in ax.collections:
            if isinstance(points, PathCollection) and len(points.get_offsets()):
                colours = points.get_facecolors()
                if not np.allclose(colours[:, :3], mpl.colors.to_rgb("0.6")):
                    views.append(colours)
    return views


def test_channel_preferred_layers_are_the_best_significant_ones(planted):
    scores, _ = planted
    preferred = channel_preferred_layers(scores, method="encoding")
    assert preferred.dims == ("channel", "band", "window")
    np.testing.assert_array_equal(
        preferred.sel(band="high_gamma").squeeze(), scores["region_rank"].values
    )
    assert preferred.sel(band="alpha").isnull().all()
    np.testing.assert_array_equal(preferred["y"], scores["y"])


def test_contacts_coloured_by_preferred_layer_in_the_significant_band(planted, tmp_path):
    scores, gradient = planted
    preferred = channel_preferred_layers(scores, method="encoding")
    fig = plot_glass_brain(preferred, gradient, tmp_path / "brain.png")
    assert (tmp_path / "brain.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "brain.svg").stat().st_size
    titles = [t.get_text() for t in fig.texts]
    # one row: alpha has no significant alignment, high gamma a perfect one
    assert len([t for t in titles if "contacts with a significant layer" in t]) == 1
    assert any(
        t.startswith("high_gamma 70-150 Hz, 150-350 ms: region-level ρ = 1.00") for t in titles
    )
    views = _coloured(fig)
    assert len(views) == 4  # left, back, right, top
    cmap = mpl.colormaps["viridis"].resampled(len(LAYERS))
    expected = {tuple(np.round(cmap(k), 6)) for k in (1, 2, 3, 4)}
    # the side views show one hemisphere each, the back and top views both
    assert [len(colours) for colours in views] == [12, 24, 12, 24]
    for colours in views:
        assert {tuple(np.round(c, 6)) for c in colours} == expected


def test_contacts_without_coordinates_are_counted_not_drawn(planted):
    scores, gradient = planted
    preferred = channel_preferred_layers(scores, method="encoding")
    preferred["x"] = preferred["x"].copy(data=np.r_[np.nan, np.nan, np.nan, preferred["x"][3:]])
    fig = plot_glass_brain(preferred, gradient, cells=[("high_gamma", "150-350")])
    # contacts 0 and 2 are left, 1 right
    assert [len(colours) for colours in _coloured(fig)] == [10, 21, 11, 21]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "3 contacts without coordinates not shown" in legend


def test_unknown_coordinates_are_said_instead_of_a_brain(planted):
    scores, gradient = planted
    preferred = channel_preferred_layers(scores, method="encoding")
    preferred = preferred.assign_coords(x=preferred["x"] * np.nan)
    fig = plot_glass_brain(preferred, gradient)
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "contact coordinates unknown" in texts
    assert _coloured(fig) == []
    with pytest.raises(ValueError, match="band 'gamma'"):
        plot_glass_brain(preferred, gradient, cells=[("gamma", "150-350")])
    with pytest.raises(KeyError, match=r"\['z'\]"):
        plot_glass_brain(preferred.drop_vars("z"), gradient)
