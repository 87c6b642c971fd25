"""A lazy change timeline: the order in which an incremental export hands out records.

Generated records come first, in index order, with non-decreasing change times computed on
demand; changes made at runtime (writes, mutations) are appended to a small log after them.
A record that changed at runtime is skipped at its old generated position, the way a vendor
export shows each record once, at its latest change. Positions are plain integers, so a
cursor is just a position and resuming never needs the records before it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One record's place on the timeline."""

    position: int
    ts: int
    record_id: int
    index: int | None  # generated index, None for a record created at runtime


class Timeline:
    """Generated segment ``[0, count)`` followed by a log of runtime changes."""

    def __init__(
        self, count: int, ts_of: Callable[[int], int], id_of: Callable[[int], int]
    ) -> None:
        self.count = count
        self._ts_of = ts_of
        self._id_of = id_of
        self._log: list[tuple[int, int, int | None]] = []  # (ts, record_id, generated index)
        self._latest: dict[int, int] = {}  # record_id -> its latest log position
        self._moved: set[int] = set()  # generated indices that changed at runtime

    def __len__(self) -> int:
        return self.count + len(self._log)

    def last_ts(self) -> int:
        if self._log:
            return self._log[-1][0]
        return self._ts_of(self.count - 1) if self.count else 0

    def append(self, record_id: int, ts: int, index: int | None = None) -> int:
        """Record a change of ``record_id`` at ``ts`` (never earlier than the last change);
        returns the change time used."""
        ts = max(ts, self.last_ts())
        self._latest[record_id] = len(self._log)
        self._log.append((ts, record_id, index))
        if index is not None:
            self._moved.add(index)
        return ts

    def retire(self, record_id: int, index: int | None = None) -> None:
        """Take ``record_id`` off the timeline (it was deleted); scans no longer return it."""
        if index is not None:
            self._moved.add(index)
        if record_id in self._latest:
            self._latest[record_id] = -1

    def position_at(self, ts: int) -> int:
        """The first position whose change time is at or after ``ts`` (O(log n) lookups)."""
        first = bisect.bisect_left(range(self.count), ts, key=self._ts_of)
        if first < self.count:
            return first
        return self.count + bisect.bisect_left(self._log, ts, key=lambda row: row[0])

    def entry(self, position: int) -> Entry | None:
        """The entry at ``position``, or None when the record there has moved on."""
        if position < self.count:
            if position in self._moved:
                return None
            return Entry(position, self._ts_of(position), self._id_of(position), position)
        log_pos = position - self.count
        ts, record_id, index = self._log[log_pos]
        if self._latest.get(record_id) != log_pos:
            return None
        return Entry(position, ts, record_id, index)

    def scan(
        self, start: int, limit: int, accept: Callable[[Entry], bool] = lambda _: True
    ) -> tuple[list[Entry], int]:
        """Up to ``limit`` accepted entries from ``start``; returns them and the next position."""
        found: list[Entry] = []
        position = max(start, 0)
        end = len(self)
        while position < end and len(found) < limit:
            entry = self.entry(position)
            position += 1
            if entry is not None and accept(entry):
                found.append(entry)
        return found, position
