"""Deterministic, lazy generation of sandbox people and timestamps.

Every value is computed from ``(seed, kind, index)`` alone, so record 999,999 costs the same
as record 0 and nothing is kept in memory. People come from the one seeded world
(:mod:`hub.sandbox.world`) that every vendor sandbox shares: a vendor's record ``index`` is a
person of that world as the vendor holds them, noise, traps and duplicates included.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from hub.sandbox.world import Person, VendorProfile, World, rng_for

__all__ = [
    "Person",
    "count_where",
    "derived_secret",
    "is_duplicate_of_previous",
    "iso",
    "person",
    "rng_for",
    "spread_timestamp",
    "world",
]


@functools.lru_cache(maxsize=8)
def world(seed: int) -> World:
    """The world of ``seed`` shared by every sandbox in this process, with default traps."""
    return World(seed)


def person(seed: int, index: int, vendor: str | VendorProfile) -> Person:
    """Record ``index`` of ``vendor``'s people; some repeat a person held at a smaller index."""
    return world(seed).view(vendor, index)


def is_duplicate_of_previous(seed: int, index: int, vendor: str | VendorProfile) -> bool:
    """True when ``vendor`` already holds record ``index``'s person at a smaller index."""
    return world(seed).is_repeat(vendor, index)


def spread_timestamp(seed: int, kind: str, index: int, count: int, *, start: int, end: int) -> int:
    """Unix time of record ``index`` of ``count``, spread over [start, end) and non-decreasing
    in ``index`` (a jitter never crosses the next record's slot), so it can be bisected."""
    span = end - start
    count = max(count, 1)
    slot = start + index * span // count
    next_slot = start + (index + 1) * span // count
    jitter = rng_for(seed, f"{kind}-ts", index).randrange(max(next_slot - slot, 1))
    return slot + jitter


def iso(ts: int | float) -> str:
    """ISO-8601 UTC with a ``Z``, the way most vendor APIs write timestamps."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def count_where(n: int, period: int, predicate: Callable[[int], bool]) -> int:
    """How many ``i`` in ``range(n)`` satisfy a predicate that depends only on ``i % period``."""
    per_period = sum(1 for i in range(period) if predicate(i))
    full, rest = divmod(n, period)
    return full * per_period + sum(1 for i in range(rest) if predicate(full * period + i))


def derived_secret(vendor: str, seed: int, purpose: str) -> str:
    """A sandbox credential computed from the seed, so a sandbox served again with the same
    seed accepts what ``hub demo`` stored. Sandbox credentials guard nothing real."""
    digest = hashlib.sha256(f"{vendor}-sandbox/{seed}/{purpose}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")
