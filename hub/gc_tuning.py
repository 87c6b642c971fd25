"""The cyclic garbage collector's first threshold for a process that syncs.

A sync allocates short-lived containers by the hundred thousand (decoded records, mapped
fields, sealed rows). With CPython's default first threshold of 700 allocations the
collector ran every few records, traversing them while they were still alive: 4.7 % of a
sync's instructions (callgrind, docs/performance.md). At 10,000 most of them are freed by
their reference counts before any collection sees them.

This is sound only while a sync leaves no large garbage in reference cycles: with a page's
invalid records and httpx's responses in cycles (both fixed since), the higher threshold let
them pile up, 343 against 169 MB at 100,000 tickets. Anything that puts a page or a
response body in a cycle again shows first as peak RSS in ``hub bench``.
"""

from __future__ import annotations

import gc

FIRST_THRESHOLD = 10_000


def tune_for_sync() -> None:
    """Raise the first threshold to :data:`FIRST_THRESHOLD` (never lower one set higher)."""
    first, second, third = gc.get_threshold()
    if first < FIRST_THRESHOLD:
        gc.set_threshold(FIRST_THRESHOLD, second, third)
