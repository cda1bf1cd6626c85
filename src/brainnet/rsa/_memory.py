"""Working-memory sizes of the RSA permutation test: permutation block, brain-RDM chunk, rows.

Three arrays grow with the stimuli ``n`` (``Q = n (n - 1) / 2`` compared
dissimilarities) and with a size that can be chosen freely without changing
any result:

- the model RDMs of a block of permutations, ``block x Q`` float32;
- the brain RDMs scored together, ``chunk x Q`` float32, held up to three
  times at once (the chunk, the pool of targets still running under
  sequential stopping, and their concatenation);
- the rows ranked or scored in float64 at once, ``rows x Q`` float64, about
  twice.

``auto`` sizes (the default of ``rsa.block`` and ``rsa.chunk``) fit all three
within a budget: ``rsa.memory_gb`` when set, else half the memory available
when the test starts, at most :data:`DEFAULT_BUDGET` (larger blocks buy
little: the products are memory-bound long before); capped at 256
permutations, 2,048 brain RDMs and 256 rows (the sizes that were fixed
before; at 250 stimuli they fit in 0.3 GB).
On top comes the working set of the layers, about ``n_layers x (n^2 x 4 +
Q x 20)`` bytes (the square float32 RDMs that permutations reorder, and the
condensed ones in float32 and float64), which does not depend on the number of
brain RDMs: 3.1 GB for 9 layers at 5,000 stimuli. Results do not depend on these sizes: every
brain RDM and permutation is scored on its own, and null values near the
observed ones are recomputed in float64 whatever the batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from brainnet.log import logger

MAX_BLOCK, MAX_CHUNK, MAX_ROWS = 256, 2048, 256
#: The largest budget of the ``auto`` sizes without ``memory_gb``, in bytes.
DEFAULT_BUDGET = 2 * 2**30


@dataclass(frozen=True)
class Sizes:
    """Permutations per block, brain RDMs per chunk, float64 rows at once."""

    block: int
    chunk: int
    rows: int


def available_bytes() -> int | None:
    """Memory available now (``MemAvailable`` on Linux, else free pages), or None."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_size(value, key: str) -> None:
    """``value`` is ``"auto"`` or a positive integer; the error names ``key``."""
    if value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key} must be 'auto' or a positive integer, got {value!r}")


def check_memory(memory_gb) -> None:
    if memory_gb is not None and (isinstance(memory_gb, bool) or not memory_gb > 0):
        raise ValueError(f"memory_gb must be a positive number or None, got {memory_gb!r}")


def rsa_sizes(n_pairs: int, block="auto", chunk="auto", memory_gb=None) -> Sizes:
    """The sizes for RDMs of ``n_pairs`` dissimilarities.

    ``block`` and ``chunk`` given as integers are kept; ``"auto"`` ones share the
    budget (``memory_gb``, else half the available memory, at most
    :data:`DEFAULT_BUDGET`) with the float64 rows:
    a quarter to the permutation block, half to the chunk, a quarter to the rows.
    """
    check_size(block, "block")
    check_size(chunk, "chunk")
    check_memory(memory_gb)
    if memory_gb is not None:
        budget = memory_gb * 2**30
    else:
        budget = min(DEFAULT_BUDGET, (available_bytes() or DEFAULT_BUDGET) / 2)
    rows = _fit(budget / 4, 16 * n_pairs, MAX_ROWS)
    sizes = Sizes(
        block=block if block != "auto" else _fit(budget / 4, 4 * n_pairs, MAX_BLOCK),
        chunk=chunk if chunk != "auto" else _fit(budget / 2, 12 * n_pairs, MAX_CHUNK),
        rows=rows,
    )
    logger.debug("rsa working memory: %s for %d dissimilarities", sizes, n_pairs)
    return sizes


def _fit(budget: float, per_item: int, cap: int) -> int:
    return int(max(1, min(cap, budget // per_item)))
