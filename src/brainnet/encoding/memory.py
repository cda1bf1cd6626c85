"""Working-memory budgets of the encoding solvers, and the blocks they cut.

The ridge solver fits targets and permutations in blocks of columns so that
the working arrays stay within :data:`_BLOCK_BYTES` whatever the number of
targets; the per-fold triangular factors of the leave-one-out errors are
cached only within :data:`_FACTOR_BYTES`. The solvers read both budgets at
call time, so setting them on this module (or on :mod:`brainnet.encoding`,
which forwards them here) takes effect at the next call.
"""

from __future__ import annotations

from collections.abc import Iterator

# Working memory per block of targets; the per-fold decomposition comes on top.
_BLOCK_BYTES = 64 * 2**20
# Memory for the per-fold triangular factors of the leave-one-out errors.
_FACTOR_BYTES = 512 * 2**20


def _column_blocks(n_columns: int, n_stimuli: int, n_alphas: int) -> Iterator[slice]:
    """Slices of target columns whose working arrays fit in ``_BLOCK_BYTES``.

    A column needs about four stimulus-length vectors (targets, centred
    targets, projection, errors, plus gather indices) and one score per alpha.
    """
    block = max(1, _BLOCK_BYTES // (8 * (4 * n_stimuli + n_alphas)))
    for start in range(0, n_columns, block):
        yield slice(start, min(start + block, n_columns))


def _permutation_blocks(n_perms: int, n_train: int, n_columns: int) -> Iterator[slice]:
    """Slices of permutations 1.. whose gathered training targets fit in ``_BLOCK_BYTES``."""
    block = max(1, _BLOCK_BYTES // (8 * 3 * n_train * max(n_columns, 1)))
    for start in range(1, n_perms, block):
        yield slice(start, min(start + block, n_perms))
