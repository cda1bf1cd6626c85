"""The run summary ``results/summary.csv`` and its sibling ``results/comparisons.csv``.

One row per dataset, model, method, band and window gathers the alignment
statistics and the preferred layer of every region from the gradient
artefacts (:func:`brainnet.gradient.gradient_statistics`). The paired tests
between models (:func:`brainnet.gradient.compare_models`) get one row per
dataset, method, pair, band, window and statistic. The figure captions of the
Snakemake report live beside the workflow in ``workflow/report/*.rst``.
:func:`write_summary_page` writes the summary as an HTML page, which the
Snakemake report shows in place (a CSV it only offers for download).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brainnet.gradient import RECOMMENDED, STATISTIC_NAMES, planted_layer_index
from brainnet.io import atomic_path

__all__ = [
    "region_table",
    "summary_table",
    "write_summary",
    "write_summary_page",
    "comparison_table",
    "REGION_COLUMNS",
    "SUMMARY_COLUMNS",
    "COMPARISON_COLUMNS",
]

#: Fixed leading columns of the summary; ``best_layer_<region>`` columns and,
#: with ground truth, ``n_recovered`` and ``n_planted`` follow.
SUMMARY_COLUMNS = (
    "dataset",
    "model",
    "method",
    "band",
    "window",
    "fmin",
    "fmax",
    "tmin",
    "tmax",
    "alignment_tau",
    "alignment_tau_low",
    "alignment_tau_high",
    "alignment_tau_p",
    "alignment_rho",
    "alignment_rho_low",
    "alignment_rho_high",
    "alignment_rho_p",
    "region_alignment_rho",
    "region_alignment_rho_low",
    "region_alignment_rho_high",
    "region_alignment_rho_p",
    "n_pairs",
    "n_preferred",
)
_STATISTICS = SUMMARY_COLUMNS[9:]

#: Columns of :func:`region_table`, after ``region``, ``region_rank``, ``layer``,
#: ``layer_index``, ``band`` and ``window``.
REGION_COLUMNS = (
    "rho",
    "p",
    "significant",
    "noise_ceiling_lower",
    "noise_ceiling_upper",
    "r2",
    "r2_sem",
    "r2_p",
    "r2_percent",
    "net2brain_noise_ceiling_lower",
    "net2brain_noise_ceiling_upper",
    "n_subjects",
    "n_channels",
)


def summary_table(
    gradients: Mapping[tuple[str, str, str], xr.Dataset],
    *,
    planted: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """Tabulate gradient statistics: one row per dataset, model, method, band and window.

    Parameters
    ----------
    gradients : mapping of (dataset, model, method) to xarray.Dataset
        Outputs of :func:`brainnet.gradient.gradient_statistics`.
    planted : mapping of (dataset, model) to mapping of str to str | None
        Ground truth (synthetic data): for the reference model of a dataset,
        region name to the name of the layer planted in it. Adds
        ``n_recovered`` and ``n_planted``, empty for other models.

    Returns
    -------
    summary : pandas.DataFrame
        Columns:

        ``dataset``, ``model``, ``method``
            The key of the gradient (``method`` is ``encoding``, ``rsa``
            (channel level) or ``rsa_region`` (region level)).
        ``band``, ``window``
            Frequency band and time window labels.
        ``fmin``, ``fmax``
            Band edges in Hz (empty when the data have no bands).
        ``tmin``, ``tmax``
            Window edges in seconds (empty when the data have no time).
        ``alignment_tau``
            Kendall's tau-b between region rank and layer index over all
            significant channel-layer pairs of visual channels (Kuzovkin et
            al. 2018); 1 means deeper layers always go with later regions.
        ``alignment_tau_low``, ``alignment_tau_high``
            Its bootstrap confidence interval (channels resampled).
        ``alignment_tau_p``
            Its two-sided permutation p (region labels shuffled across
            channels); the smallest possible value is ``1 / (n_permutations + 1)``.
        ``alignment_rho``, ``alignment_rho_low``, ``alignment_rho_high``, ``alignment_rho_p``
            The same for Spearman's rho between region rank and each
            channel's preferred layer (Guclu and van Gerven 2015).
        ``region_alignment_rho``, ``_low``, ``_high``, ``_p``
            Spearman's rho between region rank and each visual region's
            preferred layer (the layer with the highest region mean, where
            the region has a significant match), with a bootstrap interval
            and a permutation p (region labels shuffled across channels or
            subjects' region RDMs); undefined with fewer than three visual
            ranks.
        ``n_pairs``
            Number of significant channel-layer pairs entering tau.
        ``n_preferred``
            Number of visual channels with a preferred (significant) layer,
            entering rho.
        ``best_layer_<region>``
            Name of the layer with the highest mean score of the region's
            channels (its preferred layer), one column per region over all
            gradients, visual regions by rank then the others; empty where a
            gradient lacks the region or the region has no significant match.
        ``tied_layers_<region>``
            The layers tied to the preferred one (the data cannot tell them
            apart from it), space-separated in network order.
        ``noise_ceiling_lower_<region>``, ``noise_ceiling_upper_<region>``
            rsatoolbox's noise ceiling of region-level RSA (method
            ``rsa_region``); only when some gradient has one, empty for the
            others.
        ``n_recovered``, ``n_covered``, ``n_planted``
            Only with ``planted``: number of regions whose best layer equals
            the planted one, and whose tied layers include it, out of the
            regions with a planted layer; empty for datasets without ground
            truth.

        The permutation p of an alignment statistic answers "is there a
        gradient"; its bootstrap interval describes how much the statistic
        would vary with other subjects and channels, and is not a test.

    Raises
    ------
    ValueError
        When a key is not a (dataset, model, method) triple, or the ground
        truth names a region or layer missing from a gradient.
    KeyError
        When a gradient lacks a summary variable.
    """
    planted = dict(planted or {})
    regions = _region_columns(gradients)
    rows = []
    for key, gradient in gradients.items():
        if not (isinstance(key, tuple) and len(key) == 3):
            raise ValueError(f"summary: keys must be (dataset, model, method) tuples, got {key!r}")
        missing = [name for name in (*_STATISTICS, "preferred_layer") if name not in gradient]
        if missing:
            raise KeyError(f"summary: gradient {key} lacks {missing}")
        dataset, model, method = map(str, key)
        known = planted.get((dataset, model))
        truth = planted_layer_index(gradient, known) if known is not None else None
        names = {"dataset": dataset, "model": model, "method": method}
        rows += _rows(gradient, names, regions, truth, with_truth=bool(planted))
    columns = [
        *SUMMARY_COLUMNS,
        *(f"{kind}_{r}" for kind in ("best_layer", "tied_layers") for r in regions),
    ]
    if any("noise_ceiling_lower" in gradient for gradient in gradients.values()):
        columns += [f"noise_ceiling_{b}_{r}" for r in regions for b in ("lower", "upper")]
    if planted:
        columns += ["n_recovered", "n_covered", "n_planted"]
    summary = pd.DataFrame(rows, columns=columns)
    for name in ("n_pairs", "n_preferred", "n_recovered", "n_covered", "n_planted"):
        if name in summary:
            summary[name] = summary[name].astype("Int64")  # integers that may be missing
    return summary


def region_table(scores: xr.Dataset) -> pd.DataFrame:
    """Region-level RSA as a long table: one row per region, layer, band and window.

    Parameters
    ----------
    scores : xarray.Dataset
        Region-level RSA scores (:func:`brainnet.rsa.rsa_scores` or
        :func:`brainnet.rsa.rsa_precomputed` with ``level="region"``).

    Returns
    -------
    table : pandas.DataFrame
        ``region``, ``region_rank``, ``layer``, ``layer_index``, ``band``,
        ``window``, then :data:`REGION_COLUMNS`: brainnet's score ``rho`` with
        its permutation ``p`` and decision, rsatoolbox's noise ceiling, and
        Net2Brain's columns (``r2``: the mean over subjects of the squared
        Spearman rho; ``r2_sem`` and ``r2_p``, the SEM and one-sample t-test
        over the squared values; ``r2_percent`` = R² / LNC x 100 with
        Net2Brain's own lower noise ceiling, also given). Rows are in region,
        layer, band and window order.

    Raises
    ------
    KeyError
        When ``scores`` lacks one of the columns (not region-level scores).
    """
    missing = [name for name in REGION_COLUMNS if name not in scores.data_vars]
    if missing:
        raise KeyError(
            f"region table: the scores lack {missing}; region-level RSA scores "
            "(rsa level 'region') hold them"
        )
    table = (
        scores[list(REGION_COLUMNS)]
        .transpose("region", "layer", "band", "window")
        .to_dataframe()
        .reset_index()
    )
    keep = ["region", "region_rank", "layer", "layer_index", "band", "window", *REGION_COLUMNS]
    return table[keep]


def write_summary(summary: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the summary table as CSV, atomically.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`summary_table`.
    path : path-like
        Target file, usually ``results/summary.csv``.

    Returns
    -------
    path : Path
        The written file.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        summary.to_csv(tmp, index=False)
    return path


def write_summary_page(summary: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the summary table as a self-contained HTML page, atomically.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`summary_table`. The page holds its columns with the
        recommended region-level rho and the regions' best layers first,
        names the three alignment statistics (pair-level tau, channel-level
        rho, region-level rho), rounds values to three digits and keeps the
        header in view while the table scrolls.
    path : path-like
        The HTML file (``results/summary.html`` in the workflow).

    Returns
    -------
    path : Path
        ``path``, once the page is complete.
    """
    path = Path(path)
    # what a row is about, then the recommended statistic and the regions' best layers
    # in view; the other statistics and the band and window edges to the right
    leading = ["dataset", "model", "method", "band", "window"]
    leading += [c for c in summary.columns if c.startswith(RECOMMENDED)]
    leading += [c for c in summary.columns if c.startswith(("n_recovered", "n_planted"))]
    leading += [c for c in summary.columns if c.startswith("best_layer_")]
    columns = leading + [c for c in summary.columns if c not in leading]
    table = summary[columns].to_html(
        index=False, na_rep="", float_format=lambda value: f"{value:.3g}", border=0
    )
    names = "".join(
        f"<li><code>{column}</code>: {STATISTIC_NAMES[column]}"
        + (" (recommended)" if column == RECOMMENDED else "")
        + f", {_MEANINGS[column]}</li>"
        for column in ("region_alignment_rho", "alignment_rho", "alignment_tau")
    )
    page = _PAGE.format(title="brainnet summary", names=names, n_rows=len(summary), table=table)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return path


_MEANINGS = {
    "region_alignment_rho": "Spearman's ρ between region rank and each region's preferred layer",
    "alignment_rho": "Spearman's ρ between region rank and each channel's preferred layer",
    "alignment_tau": (
        "Kendall's τ between region rank and layer index over significant channel-layer pairs"
    ),
}
# Header cells stay in view while the table scrolls (the report shows the page in a frame).
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 13px/1.4 system-ui, sans-serif; margin: 12px; }}
table {{ border-collapse: collapse; white-space: nowrap; }}
th, td {{ padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; }}
th {{ position: sticky; top: 0; background: #f4f4f4; }}
td:nth-child(-n+5), th:nth-child(-n+5) {{ text-align: left; }}
</style></head><body>
<h1 style="font-size: 16px">{title}</h1>
<p>{n_rows} rows, one per dataset, model, method, band and window; <code>_low</code>,
<code>_high</code> are the bootstrap interval and <code>_p</code> the permutation p of a
statistic. The same table is <code>results/summary.csv</code>, there in another column
order. The alignment statistics:</p>
<ul>{names}</ul>
{table}
</body></html>
"""


def _rows(gradient, names, regions, truth, *, with_truth):
    """The summary rows of one gradient, one per band and window, led by ``names``."""
    layers = np.asarray(gradient["layer"].values, dtype=str)
    position = {int(i): k for k, i in enumerate(gradient["layer_index"].values)}
    rows = []
    for band in gradient["band"].values:
        for window in gradient["window"].values:
            cell = gradient.sel(band=band, window=window)
            row = {**names, "band": str(band), "window": str(window)}
            for coord in ("fmin", "fmax", "tmin", "tmax"):
                row[coord] = float(cell[coord]) if coord in cell.coords else np.nan
            for name in _STATISTICS:
                row[name] = cell[name].item()
            found = _region_cells(cell, layers, position)
            for region in regions:
                best, tied, ceiling = found.get(region, (None, None, (np.nan, np.nan)))
                row[f"best_layer_{region}"] = best
                row[f"tied_layers_{region}"] = tied
                for bound, value in zip(("lower", "upper"), ceiling, strict=True):
                    row[f"noise_ceiling_{bound}_{region}"] = value
            if with_truth:
                row.update(_recovery(found, truth, layers, position))
            rows.append(row)
    return rows


def _region_cells(cell, layers, position):
    """Per region of one band and window: preferred layer, tied layers and noise ceiling."""
    out = {}
    tied = cell["tied"].transpose("region", "layer").values if "tied" in cell else None
    for i, region in enumerate(cell["region"].values.astype(str)):
        index = float(cell["preferred_layer"].values[i])
        best = layers[position[int(index)]] if np.isfinite(index) else None
        names = " ".join(layers[tied[i]]) if tied is not None and best is not None else None
        ceiling = tuple(
            float(cell[f"noise_ceiling_{bound}"].values[i])
            if f"noise_ceiling_{bound}" in cell
            else np.nan
            for bound in ("lower", "upper")
        )
        out[region] = (best, names, ceiling)
    return out


def _recovery(found, truth, layers, position):
    """``n_recovered`` (preferred = planted), ``n_covered`` (planted among the tied) and
    ``n_planted``; empty without ground truth."""
    if truth is None:
        return {"n_recovered": None, "n_covered": None, "n_planted": None}
    planted = {region: layers[position[index]] for region, index in truth.items()}
    return {
        "n_recovered": sum(found[region][0] == layer for region, layer in planted.items()),
        "n_covered": sum(
            layer in (found[region][1] or "").split() for region, layer in planted.items()
        ),
        "n_planted": len(truth),
    }


def _region_columns(gradients):
    """Every region over all gradients: visual regions by rank, then the others by name."""
    ranks = {}
    for gradient in gradients.values():
        for region, rank in zip(
            gradient["region"].values.astype(str), gradient["region_rank"].values, strict=True
        ):
            ranks.setdefault(region, int(rank))
    return sorted(ranks, key=lambda region: (ranks[region] == 0, ranks[region], region))


#: Columns of ``results/comparisons.csv``.
COMPARISON_COLUMNS = (
    "dataset",
    "method",
    "model_a",
    "model_b",
    *SUMMARY_COLUMNS[3:9],  # band, window and their edges
    "region",
    "statistic",
    "value_a",
    "value_b",
    "difference",
    "low",
    "high",
    "p",
)
_SUFFIXES = {
    "_a": "value_a",
    "_b": "value_b",
    "_difference": "difference",
    "_difference_low": "low",
    "_difference_high": "high",
    "_difference_p": "p",
}


def comparison_table(comparisons: Mapping[tuple[str, str], xr.Dataset]) -> pd.DataFrame:
    """Tabulate paired model comparisons: one row per statistic, band and window of a pair.

    Parameters
    ----------
    comparisons : mapping of (dataset, method) to xarray.Dataset
        Outputs of :func:`brainnet.gradient.compare_models`.

    Returns
    -------
    table : pandas.DataFrame
        Columns :data:`COMPARISON_COLUMNS`; rows in the order of the mapping,
        then pair, band and window, then the regions by rank and the
        alignment:

        ``dataset``, ``method``, ``model_a``, ``model_b``
            Which two models, scored by which method; differences are A minus B.
        ``band``, ``window``, ``fmin``, ``fmax``, ``tmin``, ``tmax``
            The band and window, with their edges (empty without bands or time).
        ``region``, ``statistic``
            ``peak_score`` rows, one per region: the region's mean score at its
            preferred layer. ``region_alignment_rho`` rows, ``region`` empty:
            Spearman's rho between region rank and region preferred layer.
        ``value_a``, ``value_b``, ``difference``
            Each model's value and their difference.
        ``low``, ``high``, ``p``
            The paired hierarchical bootstrap interval of the difference and
            its two-sided paired permutation p.

    Raises
    ------
    ValueError
        When a key is not a (dataset, method) pair.
    KeyError
        When a comparison lacks a variable.
    """
    frames = []
    for key, comparison in comparisons.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"comparisons: keys must be (dataset, method) tuples, got {key!r}")
        frames.append(_comparison_rows(comparison, *map(str, key)))
    if not frames:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def _comparison_rows(comparison, dataset, method):
    """The rows of one dataset's comparisons by one method, the alignment after the regions."""
    frames = []
    for statistic, dims in (
        ("peak_score", ["pair", "band", "window", "region"]),
        ("region_alignment_rho", ["pair", "band", "window"]),
    ):
        names = {f"{statistic}{suffix}": column for suffix, column in _SUFFIXES.items()}
        missing = [name for name in names if name not in comparison]
        if missing:
            raise KeyError(f"comparisons ({dataset}, {method}) lack {missing}")
        frame = comparison[list(names)].rename(names).to_dataframe(dim_order=dims)
        frames.append(frame.reset_index().assign(statistic=statistic))
    table = pd.concat(frames, ignore_index=True).assign(dataset=dataset, method=method)
    table["region"] = table["region"].fillna("")
    # the comparisons' own order, with the alignment after the regions
    order = ["pair", "band", "window", "region"]
    for dim in order:
        categories = [str(v) for v in comparison[dim].values] + ([""] if dim == "region" else [])
        table[dim] = pd.Categorical(table[dim].astype(str), categories=categories)
    table = table.sort_values(order, kind="stable").reset_index(drop=True)
    for column in COMPARISON_COLUMNS:
        if column not in table:
            table[column] = np.nan  # band or window edges of data without bands or time
    return table[list(COMPARISON_COLUMNS)].astype({dim: str for dim in order[1:]})
