"""Figures of the gradient statistics: files, shared scales, labels and marks."""

import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import PathCollection
from matplotlib.patches import Rectangle

from brainnet.plots.results import (
    plot_alignment_timecourse,
    plot_gradient,
    plot_layer_region_map,
    plot_model_comparison,
    plot_recovery,
)

LAYERS = ["pixels", "conv1", "conv2", "conv3", "fc6", "fc7"]
REGIONS = {"V1": 1, "V2": 2, "V4": 3, "IT": 4, "amygdala": 0}
BANDS = {"alpha": (9.0, 14.0), "low_gamma": (30.0, 70.0)}
WINDOWS = {"50-250": (0.05, 0.25), "150-350": (0.15, 0.35), "250-450": (0.25, 0.45)}


def make_gradient(seed=0, model="alexnet"):
    """A gradient Dataset whose band 'low_gamma' has ten times the scores of 'alpha'."""
    rng = np.random.default_rng(seed)
    shape = (len(LAYERS), len(REGIONS), len(BANDS), len(WINDOWS))
    score = rng.normal(0, 0.02, shape) * np.array([1, 10])[None, None, :, None]
    best = score.argmax(axis=0).astype(float)
    bw = (len(BANDS), len(WINDOWS))
    alignment = {
        f"{stat}{suffix}": (("band", "window"), rng.uniform(-0.5, 0.5, bw) + shift)
        for stat in ("alignment_tau", "alignment_rho", "region_alignment_rho")
        for suffix, shift in (("", 0), ("_low", -0.6), ("_high", 0.6))
    }
    alignment |= {
        f"{stat}_p": (("band", "window"), rng.uniform(0, 0.1, bw))
        for stat in ("alignment_tau", "alignment_rho", "region_alignment_rho")
    }
    lrbw, rbw = ("layer", "region", "band", "window"), ("region", "band", "window")
    return xr.Dataset(
        {
            "score": (lrbw, score),
            "score_low": (lrbw, score - 0.01),
            "score_high": (lrbw, score + 0.01),
            "n_preferring": (lrbw, rng.integers(0, 5, shape)),
            "preferred_layer": (rbw, best),
            "preferred_layer_low": (rbw, np.maximum(best - 1, 0)),
            "preferred_layer_high": (rbw, np.minimum(best + 1, len(LAYERS) - 1)),
            **alignment,
            "n_pairs": (("band", "window"), rng.integers(10, 100, bw)),
        },
        coords={
            "layer": LAYERS,
            "layer_index": ("layer", np.arange(len(LAYERS))),
            "region": list(REGIONS),
            "region_rank": ("region", list(REGIONS.values())),
            "band": list(BANDS),
            "fmin": ("band", [f[0] for f in BANDS.values()]),
            "fmax": ("band", [f[1] for f in BANDS.values()]),
            "window": list(WINDOWS),
            "tmin": ("window", [t[0] for t in WINDOWS.values()]),
            "tmax": ("window", [t[1] for t in WINDOWS.values()]),
        },
        attrs={
            "method": "encoding",
            "model": model,
            "dataset": "toy",
            "score_label": "held-out Pearson r",
            "ci": 0.95,
        },
    )


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def _assert_written(path):
    png, svg = path.with_suffix(".png"), path.with_suffix(".svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg.read_text().lstrip().startswith("<?xml")
    return svg.read_text()


def test_map_files_shared_scale_and_labels(tmp_path):
    gradient = make_gradient()
    fig = plot_layer_region_map(gradient, tmp_path / "map.png")
    svg = _assert_written(tmp_path / "map.png")
    panels = _image_axes(fig)
    assert len(panels) == len(BANDS) * len(WINDOWS)
    limit = float(np.abs(gradient["score"]).max())
    # One colour scale for all panels, set by the strongest cell of any panel.
    assert {ax.images[0].get_clim() for ax in panels} == {(-limit, limit)}
    colorbar = [ax for ax in fig.axes if not ax.images][0]
    assert colorbar.get_ylabel() == "held-out Pearson r"
    bottom_left = panels[(len(BANDS) - 1) * len(WINDOWS)]
    assert [t.get_text() for t in bottom_left.get_xticklabels()] == LAYERS
    # Regions by rank from the bottom, the rank-0 control last (top).
    assert [t.get_text() for t in bottom_left.get_yticklabels()] == list(REGIONS)
    assert panels[0].get_title() == "50-250 ms"
    assert "alpha" in panels[0].get_ylabel() and "9-14 Hz" in panels[0].get_ylabel()
    for name in (*LAYERS, "held-out Pearson r", "alexnet"):
        assert name in svg


def test_map_marks_preferred_layer_and_significance(tmp_path):
    gradient = make_gradient()
    fig = plot_layer_region_map(gradient)
    for ax, (band, window) in zip(
        _image_axes(fig), [(b, w) for b in BANDS for w in WINDOWS], strict=True
    ):
        cell = gradient.sel(band=band, window=window)
        frames = [p for p in ax.patches if isinstance(p, Rectangle)]
        corners = sorted((p.get_x() + 0.5, p.get_y() + 0.45) for p in frames)
        expected = sorted(
            (float(best), float(row)) for row, best in enumerate(cell["preferred_layer"].values)
        )
        np.testing.assert_allclose(corners, expected)
        dots = ax.lines[0]
        above = cell["score_low"].transpose("region", "layer").values > 0
        assert len(dots.get_xdata()) == above.sum()
        rows, cols = np.nonzero(above)
        np.testing.assert_array_equal(dots.get_xdata(), cols)
        np.testing.assert_array_equal(dots.get_ydata(), rows)


def test_map_marks_tied_layers_and_region_noise_ceilings():
    gradient = make_gradient()
    tied = np.zeros(gradient["score"].shape, dtype=bool)
    tied[[1, 2], 0] = True  # V1 cannot tell conv1 from conv2, in every panel
    rbw = ("region", "band", "window")
    shape = tuple(gradient.sizes[d] for d in rbw)
    gradient = gradient.assign(
        tied=(("layer", "region", "band", "window"), tied),
        noise_ceiling_lower=(rbw, np.full(shape, 0.12)),
        noise_ceiling_upper=(rbw, np.full(shape, 0.34)),
    )
    fig = plot_layer_region_map(gradient, band="alpha", window="50-250")
    ax = _image_axes(fig)[0]
    bars = [c for c in ax.collections if c.get_segments()]
    ends = sorted(tuple(np.round(seg[:, 0], 2)) for c in bars for seg in c.get_segments())
    assert ends == [(0.58, 1.42), (1.58, 2.42)]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("0.12-0.34") == len(REGIONS)


def test_layer_similarity_outlines_neighbours_rsa_cannot_tell_apart(tmp_path):
    from brainnet.plots import plot_layer_similarity

    matrix = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.97], [0.3, 0.97, 1.0]])
    similarity = xr.Dataset(
        {"similarity": (("layer", "layer_other"), matrix)},
        coords={"layer": LAYERS[:3], "layer_other": LAYERS[:3]},
        attrs={"model": "net", "metric": "euclidean", "feature_scaling": "standard"},
    )
    fig = plot_layer_similarity(similarity, tmp_path / "similarity.png")
    _assert_written(tmp_path / "similarity.png")
    outlined = sorted((p.get_x() + 0.5, p.get_y() + 0.5) for p in fig.axes[0].patches)
    assert outlined == [(1.0, 2.0), (2.0, 1.0)]  # conv1-conv2 only
    assert "0.97" in [t.get_text() for t in fig.axes[0].texts]


def test_map_subset_and_unknown_band(tmp_path):
    gradient = make_gradient()
    fig = plot_layer_region_map(gradient, band="low_gamma", window=["150-350"])
    assert len(_image_axes(fig)) == 1
    limit = float(np.abs(gradient["score"].sel(band="low_gamma", window="150-350")).max())
    assert _image_axes(fig)[0].images[0].get_clim() == (-limit, limit)
    with pytest.raises(ValueError, match=r"band \['gamma'\] not in gradient"):
        plot_layer_region_map(gradient, band="gamma")
    with pytest.raises(KeyError, match="score_low"):
        plot_layer_region_map(gradient.drop_vars("score_low"))


def test_gradient_plot_states_alignment(tmp_path):
    gradient = make_gradient()
    fig = plot_gradient(gradient, tmp_path / "gradient.png")
    svg = _assert_written(tmp_path / "gradient.png")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == len(BANDS) * len(WINDOWS)
    cell = gradient.sel(band="alpha", window="50-250")
    text = panels[0].texts[0].get_text()
    # the recommended region-level rho, and the reference study's pair-level tau
    rho, rho_p = float(cell["region_alignment_rho"]), float(cell["region_alignment_rho_p"])
    assert f"region-level ρ = {rho:.2f}, p = {rho_p:.3g}" in text
    tau, tau_p = float(cell["alignment_tau"]), float(cell["alignment_tau_p"])
    assert f"pair-level τ = {tau:.2f}, p = {tau_p:.3g}" in text
    # Control regions are not part of the gradient.
    assert [t.get_text() for t in panels[-1].get_xticklabels()] == ["V1", "V2", "V4", "IT"]
    assert "amygdala" not in svg
    with pytest.raises(ValueError, match="no region with region_rank > 0"):
        plot_gradient(gradient.sel(region=["amygdala"]))


def _trend_lines(ax):
    return [line for line in ax.lines if line.get_linestyle() == "--"]


def test_gradient_panels_without_anything_to_show_say_so():
    gradient = make_gradient()
    gradient["n_pairs"].loc[{"band": "alpha"}] = 0
    gradient["alignment_tau"].loc[{"band": "alpha"}] = np.nan
    gradient["region_alignment_rho"].loc[{"band": "low_gamma", "window": "50-250"}] = np.nan
    gradient["preferred_layer"].loc[{"band": "low_gamma", "window": "50-250"}] = 3.0
    fig = plot_gradient(gradient)
    panels = np.array([ax for ax in fig.axes if ax.get_visible()]).reshape(2, 3)
    for ax in panels[0]:  # alpha: nothing significant, so no trend through noise
        assert "no significant pairs" in ax.texts[0].get_text()
        assert _trend_lines(ax) == []
    # significant pairs all in one layer: no tau, and no trend either
    gradient["n_pairs"].loc[{"band": "alpha", "window": "50-250"}] = 3
    text = plot_gradient(gradient, band="alpha", window="50-250").axes[0].texts[0].get_text()
    assert "pair-level τ undefined: its 3 significant pairs share one rank or one layer" in (
        " ".join(text.split())
    )
    assert "alignment undefined: every region prefers the same layer" in " ".join(
        panels[1, 0].texts[0].get_text().split()
    )
    assert _trend_lines(panels[1, 0]) == []
    # the other panels have a trend, and it ends inside the layers
    bottom, top = -0.5, len(LAYERS) - 0.5
    for ax in panels[1, 1:]:
        (line,) = _trend_lines(ax)
        assert np.all((line.get_ydata() >= bottom - 1e-9) & (line.get_ydata() <= top + 1e-9))
    # one shared rank: the panel says why instead of showing nothing
    one_rank = gradient.copy(deep=True).assign_coords(region_rank=("region", [2, 2, 2, 2, 0]))
    one_rank["region_alignment_rho"][:] = np.nan
    fig = plot_gradient(one_rank, band="low_gamma", window="150-350")
    assert "all regions share one rank" in " ".join(fig.axes[0].texts[0].get_text().split())


def test_region_labels_do_not_collide():
    names = ["V1", "V2", "V3-V4", "fusiform-IT", "anterior-temporal"]
    gradient = make_gradient().assign_coords(region=names)
    gradient = gradient.assign_coords(region_rank=("region", [1, 2, 3, 4, 5]))
    planted = dict(zip(names, LAYERS[1:], strict=True))
    for fig in (plot_gradient(gradient), plot_recovery(gradient, planted)):
        fig.draw_without_rendering()
        bottom = [ax for ax in fig.axes if any(t.get_visible() for t in ax.get_xticklabels())]
        for ax in bottom:
            boxes = sorted(
                (t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()),
                key=lambda box: box.x0,
            )
            assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False))


def test_model_comparison(tmp_path):
    gradients = {"alexnet": make_gradient(0), "alexnet (random)": make_gradient(1)}
    fig = plot_model_comparison(gradients, tmp_path / "models.png", statistic="rho")
    _assert_written(tmp_path / "models.png")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["50-250 ms", "150-350 ms", "250-450 ms"]
    points = [c for c in panels[0].collections if isinstance(c, PathCollection)]
    assert len(points) == 2
    expected = gradients["alexnet (random)"]["alignment_rho"].sel(window="50-250").values
    np.testing.assert_allclose(points[1].get_offsets()[:, 1], expected)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:2] == ["alexnet", "alexnet (random)"]
    assert "ρ" in panels[0].get_ylabel()
    # A sequence is labelled by the model attribute.
    fig = plot_model_comparison([make_gradient(0, "a"), make_gradient(1, "b")], window="50-250")
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == ["a", "b"]
    with pytest.raises(ValueError, match="band labels of 'b'"):
        plot_model_comparison({"a": make_gradient(0), "b": make_gradient(1).isel(band=[0])})
    with pytest.raises(ValueError, match="statistic"):
        plot_model_comparison(gradients, statistic="r2")


def test_model_comparison_says_why_a_panel_is_empty():
    one_rank = make_gradient().assign_coords(region_rank=("region", [4, 4, 4, 4, 0]))
    one_rank["region_alignment_rho"][:] = np.nan
    fig = plot_model_comparison({"a": one_rank, "b": one_rank}, statistic="region_rho")
    for ax in [ax for ax in fig.axes if ax.get_visible()]:
        text = " ".join(t.get_text() for t in ax.texts)
        assert "alignment undefined: all regions share one rank" in " ".join(text.split())


def test_recovery_counts_matches(tmp_path):
    gradient = make_gradient()
    cell = gradient.sel(band="low_gamma", window="150-350")
    truth = {r: LAYERS[int(cell["preferred_layer"].sel(region=r))] for r in ("V1", "V2", "V4")}
    truth["IT"] = LAYERS[(int(cell["preferred_layer"].sel(region="IT")) + 1) % len(LAYERS)]
    fig = plot_recovery(
        gradient, truth, tmp_path / "recovery.png", band="low_gamma", window="150-350"
    )
    _assert_written(tmp_path / "recovery.png")
    index = {layer: k for k, layer in enumerate(LAYERS)}
    low, high = (
        cell[f"preferred_layer_{end}"].sel(region=list(truth)).values for end in ("low", "high")
    )
    covered = sum(
        lo <= index[t] <= hi for lo, t, hi in zip(low, truth.values(), high, strict=True)
    )
    assert fig.axes[0].texts[0].get_text() == f"3/4 recovered, {covered} within the tied layers"
    with pytest.raises(ValueError, match=r"planted layers \['conv9'\]"):
        plot_recovery(gradient, {"V1": "conv9"})
    with pytest.raises(ValueError, match=r"planted regions \['MT'\]"):
        plot_recovery(gradient, {"MT": "conv1"})


def test_timecourse_on_window_centres(tmp_path):
    gradient = make_gradient()
    fig = plot_alignment_timecourse(gradient, tmp_path / "time.png", band=["low_gamma"])
    _assert_written(tmp_path / "time.png")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [150, 250, 350])
    np.testing.assert_allclose(
        ax.lines[0].get_ydata(), gradient["alignment_tau"].sel(band="low_gamma")
    )
    assert ax.get_xlabel() == "window centre (ms)"


def test_map_marks_layers_significant_after_the_correction():
    gradient = make_gradient()
    fraction = np.random.default_rng(4).uniform(0, 1, gradient["score"].shape)
    gradient["fraction_significant"] = (("layer", "region", "band", "window"), fraction)
    gradient.attrs["correction"] = "maxstat"
    fig = plot_layer_region_map(gradient)
    for ax, (band, window) in zip(
        _image_axes(fig), [(b, w) for b in BANDS for w in WINDOWS], strict=True
    ):
        cell = gradient["fraction_significant"].sel(band=band, window=window)
        rows, cols = np.nonzero(cell.transpose("region", "layer").values >= 0.5)
        triangles = ax.lines[1]
        np.testing.assert_allclose(triangles.get_xdata(), cols + 0.3)
        np.testing.assert_allclose(triangles.get_ydata(), rows + 0.25)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("max-T FWER" in label for label in labels)
