"""The cyclic garbage collector's first threshold for a process that syncs.

A sync allocates short-lived containers by the hundred thousand (decoded records, mapped
fields, sealed rows). With CPython's default first threshold of 700 allocations the
collector ran every few records, traversing them while they were still alive: 4.7 % of a
sync's instructions (callgrind, docs/performance.md). At 10,000 most of them are freed by
their reference counts before any collection sees them; what cycles there are wait a few
thousand allocations longer, a few MB at most.
"""

from __future__ import annotations

import gc

FIRST_THRESHOLD = 10_000


def tune_for_sync() -> None:
    """Raise the first threshold to :data:`FIRST_THRESHOLD` (never lower one set higher)."""
    first, second, third = gc.get_threshold()
    if first < FIRST_THRESHOLD:
        gc.set_threshold(FIRST_THRESHOLD, second, third)
