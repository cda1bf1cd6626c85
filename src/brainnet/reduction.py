"""Per-layer feature reduction, applied batch by batch during extraction.

Three methods, chosen per layer in config:

``none``
    The flattened layer output.
``pool``
    Spatial average pooling of a convolutional output to a ``grid x grid``
    map per channel (:func:`torch.nn.functional.adaptive_avg_pool2d`).
``srp``
    A seeded sparse random projection to ``n_components`` dimensions (Li,
    Hastie and Church 2006),
    which keeps pairwise Euclidean distances within the Johnson-Lindenstrauss
    bound: with ``n_components >= johnson_lindenstrauss_min_dim(n, eps)`` all
    distances between ``n`` stimuli stay within a factor ``1 +/- eps`` with
    high probability. Layers with no more features than ``n_components`` are
    kept whole.

The projection matrix has the distribution of scikit-learn's
``SparseRandomProjection(density="auto")``: each entry is
``+/- sqrt(s / n_components)`` with probability ``1 / (2 s)`` and zero
otherwise, ``s = sqrt(n_input)``. It is drawn here in one vectorised step
(the number of non-zeros, then their positions and signs), which
``benchmarks/extraction.py`` shows to be far faster than scikit-learn's
row-by-row sampling for layer-sized inputs, and it is applied as a product
with a CSR matrix laid out for ``features @ matrix``.
"""

from __future__ import annotations

import zlib

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["METHODS", "make_reducer", "sparse_projection_matrix"]

METHODS = ("none", "pool", "srp")


class _Flatten:
    method = "none"

    def __init__(self, feature_shape: tuple[int, ...]):
        self.n_features = int(np.prod(feature_shape))

    def __call__(self, batch: torch.Tensor) -> np.ndarray:
        return batch.reshape(batch.shape[0], -1).float().numpy()

    def describe(self) -> dict:
        return {"method": self.method, "n_features": self.n_features}


class _SpatialPool(_Flatten):
    method = "pool"

    def __init__(self, feature_shape: tuple[int, ...], grid: int):
        if grid < 1:
            raise ValueError(f"pool reduction needs grid >= 1, got {grid}")
        self.spatial = len(feature_shape) == 3 and min(feature_shape[1:]) > grid
        self.grid = grid
        channels = feature_shape[0]
        self.n_features = channels * grid * grid if self.spatial else int(np.prod(feature_shape))

    def __call__(self, batch: torch.Tensor) -> np.ndarray:
        if self.spatial:
            batch = torch.nn.functional.adaptive_avg_pool2d(batch, self.grid)
        return super().__call__(batch)

    def describe(self) -> dict:
        return {**super().describe(), "grid": self.grid, "pooled": self.spatial}


class _SparseProjection(_Flatten):
    method = "srp"

    def __init__(self, feature_shape: tuple[int, ...], n_components: int, seed: int):
        super().__init__(feature_shape)
        self.n_input = self.n_features
        self.seed = seed
        self.projection = None
        if self.n_input > n_components:
            self.projection = sparse_projection_matrix(self.n_input, n_components, seed)
            self.n_features = n_components

    def __call__(self, batch: torch.Tensor) -> np.ndarray:
        flat = super().__call__(batch)
        if self.projection is None:
            return flat
        return np.asarray(flat @ self.projection, dtype=np.float32)

    def describe(self) -> dict:
        return {
            "method": self.method,
            "n_input": self.n_input,
            "n_features": self.n_features,
            "seed": self.seed,
            "projected": self.projection is not None,
        }


def sparse_projection_matrix(n_input: int, n_components: int, seed: int) -> sp.csr_matrix:
    """Draw a very sparse random projection matrix ``(n_input, n_components)``.

    Entries are independent: ``+/- sqrt(s / n_components)`` with probability
    ``1 / (2 s)`` each and zero otherwise, with ``s = sqrt(n_input)`` (Li,
    Hastie and Church 2006). Independent Bernoulli entries are equivalent to
    drawing the number of non-zeros from a binomial and then their positions
    uniformly without replacement, which is what this does.
    """
    rng = np.random.default_rng(seed)
    density = 1 / np.sqrt(n_input)
    n_entries = n_input * n_components
    n_nonzero = rng.binomial(n_entries, density)
    flat = np.sort(rng.choice(n_entries, size=n_nonzero, replace=False, shuffle=False))
    rows, cols = np.divmod(flat, n_components)
    values = np.where(rng.random(n_nonzero) < 0.5, -1.0, 1.0) * np.sqrt(1 / density / n_components)
    return sp.csr_matrix((values.astype(np.float32), (rows, cols)), shape=(n_input, n_components))


def make_reducer(
    feature_shape: tuple[int, ...],
    method: str = "none",
    *,
    grid: int = 4,
    n_components: int = 2048,
    seed: int = 0,
    layer: str = "",
):
    """Build the reducer of one layer.

    Parameters
    ----------
    feature_shape : tuple of int
        Shape of one stimulus' layer output (without the batch dimension).
    method : {"none", "pool", "srp"}
        The reduction.
    grid : int
        Output grid side for ``pool``.
    n_components : int
        Output dimension for ``srp``.
    seed : int
        Seed of the projection; combined with ``layer`` so that layers get
        independent matrices.
    layer : str
        Layer name, for the seed and for error messages.

    Returns
    -------
    reducer : callable
        Maps a batch tensor ``(batch, *feature_shape)`` to a float32 array
        ``(batch, n_features)``; ``reducer.n_features`` and
        ``reducer.describe()`` report the result.
    """
    if method == "none":
        return _Flatten(feature_shape)
    if method == "pool":
        return _SpatialPool(feature_shape, grid)
    if method == "srp":
        if n_components < 1:
            raise ValueError(f"layer {layer!r}: srp needs n_components >= 1")
        layer_seed = int(
            np.random.SeedSequence([seed, zlib.crc32(layer.encode())]).generate_state(1)[0]
        )
        return _SparseProjection(feature_shape, n_components, layer_seed)
    raise ValueError(f"layer {layer!r}: unknown reduction {method!r}; choose from {METHODS}")
