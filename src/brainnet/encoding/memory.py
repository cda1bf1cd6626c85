"""Working-memory budgets of the encoding solvers, and the blocks they cut.

The ridge solver and the permutation null fit targets and permutations in
blocks so that the working arrays stay within :data:`_BLOCK_BYTES` whatever
the number of targets and permutations; the per-fold triangular factors of
the leave-one-out errors are cached only within :data:`_FACTOR_BYTES`. The
solvers read both budgets at call time, so setting them on this module takes
effect at the next call.
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


def _null_blocks(
    n_perms: int, perm_bytes: int, column_bytes: int, n_columns: int
) -> tuple[int, int]:
    """Permutations and target columns per block of the fixed-penalty null, so that its
    working arrays fit in ``_BLOCK_BYTES`` whatever the number of targets.

    One permutation costs ``perm_bytes`` plus ``column_bytes`` per target column.
    Columns are cut first, so that one permutation of a column block uses at
    most half the budget; then as many permutations as fit.
    """
    columns = max(1, min(n_columns, (_BLOCK_BYTES // 2 - perm_bytes) // column_bytes))
    perms = max(1, _BLOCK_BYTES // (perm_bytes + column_bytes * columns))
    return min(perms, max(n_perms - 1, 1)), columns
