"""The batched RSA permutation test on a torch device (CUDA, or the CPU in the tests).

:class:`~brainnet.rsa._engine._Test` keeps the bookkeeping (blocks,
sequential stopping, p-values) on the CPU; on a device, each block of
permutations of a model RDM is gathered there and scored against the brain
RDMs by one float32 matrix product (:meth:`_DeviceBatch.exceedances`), the
same product as the NumPy path's. Precision: float32 ranks (exact integers),
products and gathers; the coefficients, the observed statistics and the
comparison with them in float64; null values within the engine's margin of
the observed statistic go back to the CPU and are recomputed exactly in
float64 (:meth:`~brainnet.rsa._engine._Batch.settle`), so the exceedance
counts, and the p-values, are those of the NumPy path.
"""

from __future__ import annotations

import numpy as np
import torch

# int64 pair positions computed at once by a gather (256 MB)
_INDEX_ELEMENTS = 2**25


class _DeviceModels:
    """The square float32 model RDMs on ``device`` and the flat positions of the
    compared pairs, so that a permuted model RDM is one gather there."""

    def __init__(self, model32: np.ndarray, mask: np.ndarray, device: torch.device):
        self.device = torch.device(device)
        self.n = model32.shape[1]
        self.flat = torch.as_tensor(model32.reshape(len(model32), -1), device=self.device)
        rows, cols = np.nonzero(mask)  # the order of boolean indexing with mask
        self.rows = torch.as_tensor(rows, device=self.device)
        self.cols = torch.as_tensor(cols, device=self.device)

    def gather(self, i: int, inverse: np.ndarray) -> torch.Tensor:
        """Model ``i`` under each inverse permutation (rows of ``inverse``), in
        comparison-space order: ``(block, n_pairs)`` float32."""
        inv = torch.as_tensor(inverse, device=self.device)
        out = torch.empty((len(inv), len(self.rows)), dtype=self.flat.dtype, device=self.device)
        # the int64 positions take twice the output's memory: a few permutations at a time
        step = max(1, _INDEX_ELEMENTS // len(self.rows))
        for start in range(0, len(inv), step):
            part = inv[start : start + step]
            out[start : start + step] = self.flat[i][
                part[:, self.rows] * self.n + part[:, self.cols]
            ]
        return out

    def batch(self, batch, margin: float) -> _DeviceBatch:
        return _DeviceBatch(self, batch, margin)


class _DeviceBatch:
    """The brain side of one run (a :class:`~brainnet.rsa._engine._Batch`) on the
    device: float32 brain vectors, float64 coefficients and observed statistics."""

    def __init__(self, models: _DeviceModels, batch, margin: float):
        device = models.device
        self.models, self.batch, self.margin = models, batch, margin
        self.brain32 = torch.as_tensor(batch.brain32, device=device)
        self.coef = torch.as_tensor(batch.coef, device=device)
        self.observed = torch.as_tensor(batch.observed, device=device)

    def exceedances(self, i: int, inverse: np.ndarray, units: np.ndarray) -> np.ndarray:
        """:meth:`~brainnet.rsa._engine._Batch.exceedances` for the permutations whose
        inverses are the rows of ``inverse``, computed on the device."""
        device = self.models.device
        gathered = self.models.gather(i, inverse)
        cols, weights = self.batch.columns(units)
        cols_t = torch.as_tensor(cols, device=device)
        brain = self.brain32 if cols.size == len(self.brain32) else self.brain32[cols_t]
        null = (gathered @ brain.T).double() * self.coef[i, cols_t]
        if weights is not None:
            null = null @ torch.as_tensor(weights, device=device)
        diff = null - self.observed[i, torch.as_tensor(units, device=device)]
        exceed = (diff > self.margin).cpu().numpy()
        near = (diff.abs() <= self.margin).nonzero().cpu().numpy()
        return self.batch.settle(exceed, near, gathered, i, units)
