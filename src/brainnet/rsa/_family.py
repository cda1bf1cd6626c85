"""Channel-level RSA with a family-wise correction over each channel's band x window grid.

The counting engine (:mod:`brainnet.rsa._engine`) keeps only exceedance
counts; a max-statistic or cluster correction (:mod:`brainnet.correction`)
needs the null statistics of all band-windows of a channel under each
permutation. Here the channels are scored a few whole channels at a time:
each layer's null statistics of those channels are computed in full (no
sequential stopping, so every target sees every permutation, in the same
order), reduced to the uncorrected and the corrected p, and dropped before
the next chunk. The products are float64 (exact for the integer ranks of the
rank methods); a null value within the engine's margin (1e-6) below the
observed one counts as reaching it, where the engine would recompute it
exactly: at most a slightly larger p, never a smaller one.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from brainnet.correction import family_p
from brainnet.rsa._engine import _MARGIN, _show_progress, _Test

# Bytes of null statistics held at once: ``(1 + n_permutations) x targets`` float64.
_NULL_BYTES = 256 * 2**20


def _family_scores(
    test: _Test, values: np.ndarray, tested: np.ndarray, chunk: int, scalar: bool, correction: str
) -> dict:
    """``rho``, ``p``, ``p_fwer`` and ``n_permutations`` ``(layer, channel, band, window)``.

    ``values`` is as for :func:`~brainnet.rsa._scoring._channel_scores`;
    ``tested`` ``(channel, band, window)``. Untested targets get ``p`` and
    ``p_fwer`` NaN and stay out of their channel's family.
    """
    n_channels, n_bands, n_windows = values.shape[1:]
    n_models, n_rows = len(test.model32), 1 + test.n_permutations
    cells = n_bands * n_windows
    per_chunk = max(1, min(chunk, _NULL_BYTES // (8 * n_rows)) // cells)
    shape = (n_models, n_channels, n_bands, n_windows)
    out = {name: np.full(shape, np.nan) for name in ("rho", "p", "p_fwer")}
    out["n_permutations"] = np.zeros(shape, dtype=np.int64)
    starts = range(0, n_channels, per_chunk)
    for start in tqdm(starts, desc="rsa", unit="chunk", disable=not _show_progress()):
        channels = slice(start, min(start + per_chunk, n_channels))
        flat = values[:, channels].reshape(len(values), -1)
        brain32, norm, rho = test.brain(flat if scalar else flat.T, scalar=scalar)
        run = tested[channels].reshape(-1) & np.isfinite(norm)
        grid = (-1, *values[:, channels].shape[1:])
        out["rho"][:, channels] = rho.reshape(grid)
        out["n_permutations"][:, channels] = np.where(run, test.n_permutations, 0).reshape(grid)
        brain = brain32[run].astype(np.float64)
        for i in range(n_models):
            scores = np.full((n_rows, len(run)), np.nan)
            scores[0, run] = rho[i, run]
            scores[1:, run] = _null(test, i, brain, norm[run])
            exceed = (scores[1:] >= scores[0] - _MARGIN).sum(axis=0)
            out["p"][i, channels] = np.where(run, (1 + exceed) / n_rows, np.nan).reshape(grid[1:])
            out["p_fwer"][i, channels] = family_p(scores.reshape(n_rows, *grid[1:]), correction)
    return out


def _null(test: _Test, i: int, brain: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """Null statistics ``(n_permutations, k)`` of layer ``i`` against the float64 brain
    vectors ``brain`` ``(k, n_pairs)``, computed as the engine computes the observed
    statistic (centred products over the norms)."""
    null = np.empty((test.n_permutations, len(brain)))
    gathered = np.empty((test.block, brain.shape[1]), dtype=np.float32)
    coef = 1.0 / (test.model_norm[i] * norm)
    for start in range(0, test.n_permutations, test.block):
        rows = slice(start, min(start + test.block, test.n_permutations))
        size = rows.stop - rows.start
        test._gather(i, test.inverse[rows], gathered[:size])
        null[rows] = (gathered[:size].astype(np.float64) @ brain.T) * coef
    return null
