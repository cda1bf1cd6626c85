"""The permutation engine behind :func:`~brainnet.rsa.permutation_test` and the stages.

Why the permutation test is fast
--------------------------------
Permuting the stimulus labels of a brain RDM (the same permutation applied to
its rows and columns) only reorders its dissimilarities, so ranks, means and
norms are unchanged: for rank correlations the ranked, centred vectors are
computed once and every permutation is a reordering. Correlating the model
RDM with a permuted brain RDM equals correlating the inversely permuted model
RDM with the brain RDM, so each block of permutations reorders the few model
RDMs (one per layer), and one matrix product (BLAS, float32) scores that block
against thousands of brain RDMs at once. Ranks are stored as the exact
integers ``2 rank - (Q + 1)`` (``Q`` compared dissimilarities); the rare null
values within ``1e-6`` of the observed statistic are recomputed exactly in
float64, so ties count as exceedances exactly as in a float64 loop over
:func:`scipy.stats.spearmanr`. With Besag-Clifford stopping, pairs that are
clearly not significant leave the matrix products after a few dozen
permutations. ``benchmarks/rsa.py`` measures the speed-up over that loop and
over rsatoolbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from brainnet.log import logger
from brainnet.rsa._checks import _n_from_pairs
from brainnet.rsa._memory import Sizes
from brainnet.rsa.compare import _centered
from brainnet.rsa.rdm import scalar_rdm, to_matrices

# Null values closer than this to the observed statistic are recomputed in
# float64. Float32 products of the ranked vectors of 250 stimuli err by at most
# ~1e-8 in rho (measured), so the margin leaves a factor of 100.
_MARGIN = 1e-6
_FIRST_BLOCK = 32


class _Test:
    """Null exceedance counts of a fixed set of model RDMs against batches of brain RDMs.

    The model side is prepared once: centred comparison-space values as
    float32 ``n x n`` matrices, whose rows and columns each permutation of the
    stimuli reorders; the brain side is prepared per batch by :meth:`brain`,
    and each :meth:`run` scores its null statistics through a :class:`_Batch`.
    """

    def __init__(
        self,
        models: np.ndarray,
        method: str,
        permutations: np.ndarray,
        h: int | None,
        sizes: Sizes,
        device=None,
    ):
        n = _n_from_pairs(models.shape[1])
        self.method, self.h, self.n = method, h, n
        # rows: ranked or scored in float64 at once, bounding transient memory
        self.block, self.chunk, self.rows = sizes.block, sizes.chunk, sizes.rows
        self.inverse = _inverse_permutations(permutations, n)
        self.model_centred, self.model_norm = _centered(models, method)
        if method == "spearman_full":
            self.mask = np.ones((n, n), dtype=bool)
            square = self.model_centred.reshape(len(models), n, n)
        else:
            self.mask = np.triu(np.ones((n, n), dtype=bool), 1)
            square = to_matrices(self.model_centred)
        self.model32 = square.astype(np.float32)  # (L, n, n)
        self.model_q = self.model32[:, self.mask]  # the identity permutation
        # a torch device scores the blocks there; None: NumPy, without importing torch
        self.device = None
        if device is not None:
            from brainnet.rsa._device import _DeviceModels

            self.device = _DeviceModels(self.model32, self.mask, device)

    @property
    def n_permutations(self) -> int:
        return len(self.inverse)

    def brain(self, data: np.ndarray, scalar: bool = False):
        """Prepare brain RDMs: centred float32 vectors, norms and the similarity
        with every model (float64).

        ``data`` holds condensed RDMs ``(k, n_pairs)``, or with ``scalar``
        responses ``(n_stimuli, k)`` whose RDMs are built here, a few rows at a
        time so that the float64 intermediates stay small.
        """
        k = data.shape[1] if scalar else len(data)
        out = np.empty((k, int(self.mask.sum())), dtype=np.float32)
        norms, similarity = np.empty(k), np.empty((len(self.model32), k))
        for start in range(0, k, self.rows):
            rows = slice(start, min(start + self.rows, k))
            vectors = scalar_rdm(data[:, rows]) if scalar else data[rows]
            centred, norms[rows] = _centered(vectors, self.method)
            out[rows] = centred
            with np.errstate(invalid="ignore", divide="ignore"):
                similarity[:, rows] = (self.model_centred @ centred.T) / np.outer(
                    self.model_norm, norms[rows]
                )
        norms[norms == 0] = np.nan
        return out, norms, similarity

    def run(
        self,
        brain32: np.ndarray,
        brain_norm: np.ndarray,
        weights: np.ndarray | None = None,
        *,
        start: int = 0,
        stop: int | None = None,
        state: _State | None = None,
    ) -> _State:
        """Count null exceedances for every model and every unit.

        A unit is one brain RDM, or with ``weights`` ``(k, g)`` a weighted mean
        of the similarities of several. Permutations ``start`` to ``stop`` are
        used (all by default), continuing ``state`` when given.
        """
        n_models = len(self.model32)
        stop = self.n_permutations if stop is None else min(stop, self.n_permutations)
        batch = _Batch.new(self.model_q, self.model_norm, brain32, brain_norm, weights, self.rows)
        on_device = None if self.device is None else self.device.batch(batch, _MARGIN)
        state = _State.new(batch.observed) if state is None else state
        active = [np.flatnonzero(row) for row in state.running]
        size = min(_FIRST_BLOCK, self.block) if self.h and not start else self.block
        gathered = np.empty((size, self.model_q.shape[1]), dtype=np.float32)
        done = start
        with tqdm(
            total=stop - start,
            desc="permutations",
            unit="perm",
            leave=False,
            disable=not _show_progress(),
        ) as bar:
            while done < stop and any(units.size for units in active):
                size = min(size, stop - done)
                if len(gathered) < size:
                    gathered = np.empty((size, gathered.shape[1]), dtype=np.float32)
                inverse = self.inverse[done : done + size]
                for i in range(n_models):
                    if not active[i].size:
                        continue
                    if self.device is None:
                        self._gather(i, inverse, gathered[:size])
                        exceed = batch.exceedances(i, gathered[:size], active[i])
                    else:
                        exceed = on_device.exceedances(i, inverse, active[i])
                    active[i] = self._update(i, exceed, active[i], state)
                done += size
                bar.update(size)
                size = min(2 * size, self.block)
        state.running[:] = False
        for i, units in enumerate(active):
            state.running[i, units] = True
        return state

    def _gather(self, i, inverse, out):
        """Model ``i`` under each inverse permutation, in comparison-space order.

        Row by row (contiguous copies) then column by column (within cache):
        several times faster than one flat fancy index (``benchmarks/rsa.py``).
        """
        model = self.model32[i]
        for row, inv in zip(out, inverse, strict=True):
            row[:] = model[inv][:, inv][self.mask]

    def _update(self, i, exceed, units, state: _State):
        """Add one block of exceedances; return the units still running."""
        if self.h is None:
            state.count[i, units] += exceed.sum(axis=0)
            state.used[i, units] += len(exceed)
            return units
        running = np.cumsum(exceed, axis=0) + state.count[i, units]
        hit = running[-1] >= self.h
        first = np.argmax(running >= self.h, axis=0) + 1
        state.used[i, units] += np.where(hit, first, len(exceed))
        state.count[i, units] = np.where(hit, self.h, running[-1])
        state.stopped[i, units] = hit & (state.used[i, units] < self.n_permutations)
        return units[~hit]

    def pvalues(self, state: _State) -> np.ndarray:
        """``(1 + count) / (1 + n_permutations)``, ``h / used`` for stopped pairs and
        NaN for pairs never tested (a constant RDM)."""
        p = (1.0 + state.count) / (1.0 + self.n_permutations)
        if self.h is not None:
            p = np.where(state.stopped, self.h / np.maximum(state.used, 1), p)
        return np.where(state.used > 0, p, np.nan)


@dataclass
class _Batch:
    """The brain side of one :meth:`_Test.run`: float32 brain vectors, the
    coefficients ``1 / (|model| |brain|)`` ``(n_models, k)``, the optional unit
    weights ``(k, g)`` and the observed statistic of every model and unit."""

    brain32: np.ndarray
    coef: np.ndarray
    weights: np.ndarray | None
    observed: np.ndarray

    @classmethod
    def new(cls, model_q, model_norm, brain32, brain_norm, weights, rows: int) -> _Batch:
        """Coefficients and observed statistics; with ``weights``, a unit's statistic
        is the weighted sum of the similarities of its brain RDMs."""
        with np.errstate(divide="ignore", invalid="ignore"):
            # a constant RDM (zero norm) gets a NaN statistic and is not tested
            coef = 1.0 / np.outer(model_norm, brain_norm)
            stat = _exact_dots(model_q, brain32, rows) * coef
            if weights is None:
                return cls(brain32, coef, weights, stat)
            observed = np.empty((len(stat), weights.shape[1]))
            for u in range(weights.shape[1]):
                cols = np.flatnonzero(weights[:, u])
                observed[:, u] = [np.dot(row[cols], weights[cols, u]) for row in stat]
        return cls(brain32, coef, weights, observed)

    def exceedances(self, i, gathered, units):
        """Boolean ``(block, units)``: null statistic of model ``i`` >= observed, ties exact.

        ``gathered`` holds model ``i`` under a block of inverse permutations
        (:meth:`_Test._gather`).
        """
        cols, w = self.columns(units)
        brain = self.brain32 if cols.size == len(self.brain32) else self.brain32[cols]
        null = (gathered @ brain.T).astype(np.float64) * self.coef[i, cols]
        if w is not None:
            null = null @ w
        diff = null - self.observed[i, units]
        return self.settle(
            diff > _MARGIN, np.argwhere(np.abs(diff) <= _MARGIN), gathered, i, units
        )

    def columns(self, units):
        """The brain RDMs that ``units`` need, and with weights the ``(cols, units)``
        weights (None without)."""
        if self.weights is None:
            return units, None
        cols = np.flatnonzero(self.weights[:, units].any(axis=1))
        return cols, self.weights[np.ix_(cols, units)]

    def settle(self, exceed, near, gathered, i, units):
        """``exceed`` with the ``near`` (permutation, unit) pairs, whose float32 null
        lies within the margin of the observed statistic, decided in float64."""
        for p, u in near:
            row = gathered[p] if isinstance(gathered, np.ndarray) else gathered[p].cpu().numpy()
            exceed[p, u] = self._exact_null(row, i, units[u]) >= self.observed[i, units[u]]
        return exceed

    def _exact_null(self, gathered, i, unit):
        """One null statistic in float64, computed as the observed one is (:meth:`new`)."""
        model = gathered.astype(np.float64)
        if self.weights is None:
            return np.dot(self.brain32[unit].astype(np.float64), model) * self.coef[i, unit]
        cols = np.flatnonzero(self.weights[:, unit])
        stat = (self.brain32[cols].astype(np.float64) @ model) * self.coef[i, cols]
        return np.dot(stat, self.weights[cols, unit])


@dataclass
class _State:
    """Per model and unit: exceedances, permutations used, whether the pair stopped
    early (Besag-Clifford) and whether it still runs."""

    count: np.ndarray
    used: np.ndarray
    stopped: np.ndarray
    running: np.ndarray

    @classmethod
    def new(cls, observed: np.ndarray) -> _State:
        zeros = np.zeros(observed.shape, dtype=np.int64)
        return cls(
            zeros, zeros.copy(), np.zeros(observed.shape, dtype=bool), np.isfinite(observed)
        )

    def select(self, units) -> _State:
        return _State(
            self.count[:, units],
            self.used[:, units],
            self.stopped[:, units],
            self.running[:, units],
        )

    @classmethod
    def concat(cls, states: list[_State]) -> _State:
        return cls(
            *(
                np.concatenate(parts, axis=1)
                for parts in zip(
                    *((x.count, x.used, x.stopped, x.running) for x in states), strict=True
                )
            )
        )


def _exact_dots(model_q: np.ndarray, brain32: np.ndarray, n_rows: int) -> np.ndarray:
    """Float64 dot products of float32 vectors, ``n_rows`` brain vectors at a time;
    exact for the integer-valued ranks."""
    model = model_q.astype(np.float64)
    out = np.empty((len(model), len(brain32)))
    for start in range(0, len(brain32), n_rows):
        rows = slice(start, start + n_rows)
        out[:, rows] = model @ brain32[rows].astype(np.float64).T
    return out


def _inverse_permutations(permutations, n: int) -> np.ndarray:
    perms = np.asarray(permutations)
    if perms.ndim != 2 or perms.shape[1] != n:
        raise ValueError(f"permutations must be (n_permutations, {n}), got {perms.shape}")
    bad = (np.sort(perms, axis=1) != np.arange(n)).any(axis=1)
    if bad.any():
        raise ValueError(
            f"permutations row {int(np.flatnonzero(bad)[0])} is not a permutation of 0..{n - 1}"
        )
    return np.argsort(perms, axis=1)


def _show_progress() -> bool:
    return logger.isEnabledFor(logging.INFO)
