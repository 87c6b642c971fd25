"""A collection of generated records with runtime changes layered on top, and a deletion log.

Records are generated lazily from an index (``generate(index)``) and never stored. Changes
made at runtime (creates, updates, mutations) live in a small overlay and go to the end of the
change :class:`~hub.sandbox.timeline.Timeline` with the server clock's time, so an incremental
read returns them next. Deletes leave the overlay and the timeline and are written to a
deletion log with when they happened, for deleted-records endpoints. Lookups by id are O(1)
(ids map to indices arithmetically), scans by change time O(log n) to find the start and
O(page) after it, whatever the number of generated records.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from hub.sandbox.timeline import Entry, Timeline

Record = dict[str, Any]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Deletion:
    """A record deleted at runtime: its id, when (server seconds), and its last state."""

    record_id: int
    deleted_at: int
    record: Record


def _unstamped(record: Record, ts: int) -> Record:
    return record


class GeneratedCollection:
    """``count`` generated records plus the runtime overlay, on one change timeline.

    ``id_of``/``index_of`` map generated indices to record ids and back (``index_of`` answers
    None for an id that was not generated); ``ts_of`` is a generated record's change time,
    non-decreasing in the index. ``stamp`` writes the change time into a saved record (an
    ``updated_at`` field, say). New records get ids from ``next_id`` on.
    """

    def __init__(
        self,
        *,
        count: int,
        generate: Callable[[int], Record],
        id_of: Callable[[int], int],
        index_of: Callable[[int], int | None],
        ts_of: Callable[[int], int],
        next_id: int,
        clock: Clock = time.time,
        stamp: Callable[[Record, int], Record] = _unstamped,
        id_key: str = "id",
    ) -> None:
        self.count = count
        self.timeline = Timeline(count, ts_of, id_of)
        self.clock = clock
        self.next_id = next_id
        self._generate = generate
        self._index_of = index_of
        self._stamp = stamp
        self._id_key = id_key
        self._overlay: dict[int, Record] = {}
        self._deleted: set[int] = set()
        self._deletions: list[Deletion] = []

    # -- reads ------------------------------------------------------------------------------

    def now(self) -> int:
        """The server clock, in whole seconds (the timeline's unit)."""
        return int(self.clock())

    @property
    def overlay(self) -> Mapping[int, Record]:
        """The records changed or created at runtime, by id (read-only)."""
        return MappingProxyType(self._overlay)

    def get(self, record_id: int) -> Record | None:
        """The current record with ``record_id``, or None (never existed, or deleted)."""
        if record_id in self._overlay:
            return self._overlay[record_id]
        if record_id in self._deleted:
            return None
        index = self._index_of(record_id)
        return None if index is None else self._generate(index)

    def at(self, entry: Entry) -> Record:
        """The record a timeline entry stands for."""
        if entry.record_id in self._overlay:
            return self._overlay[entry.record_id]
        assert entry.index is not None, "a runtime record is always in the overlay"
        return self._generate(entry.index)

    def index_of(self, record_id: int) -> int | None:
        """The generated index of ``record_id``, None for a runtime or unknown id."""
        return self._index_of(record_id)

    def changed(self, record_id: int) -> bool:
        return record_id in self._overlay

    def scan_changes(
        self, since: int, limit: int, accept: Callable[[Entry], bool] = lambda _: True
    ) -> tuple[list[Entry], int]:
        """Up to ``limit`` entries changed at or after ``since``, oldest change first, and the
        position to continue from (see :meth:`Timeline.scan`)."""
        return self.timeline.scan(self.timeline.position_at(since), limit, accept)

    # -- writes -----------------------------------------------------------------------------

    def allocate_id(self) -> int:
        record_id = self.next_id
        self.next_id += 1
        return record_id

    def save(self, record: Record) -> Record:
        """Store a changed or new record; it moves to the end of the change timeline."""
        record_id = int(record[self._id_key])
        ts = self.timeline.append(record_id, self.now(), self._index_of(record_id))
        stamped = self._stamp(record, ts)
        self._overlay[record_id] = stamped
        self._deleted.discard(record_id)
        return stamped

    def create(self, build: Callable[[int], Record]) -> Record:
        """A new record built for the next id, saved."""
        return self.save(build(self.allocate_id()))

    def delete(self, record_id: int) -> Deletion | None:
        """Delete ``record_id`` and log it; None when there is no such live record."""
        record = self.get(record_id)
        if record is None:
            return None
        self._overlay.pop(record_id, None)
        self._deleted.add(record_id)
        self.timeline.retire(record_id, self._index_of(record_id))
        last = self._deletions[-1].deleted_at if self._deletions else 0
        deletion = Deletion(record_id, max(self.now(), last), record)
        self._deletions.append(deletion)
        return deletion

    # -- the deletion log -------------------------------------------------------------------

    def deletions_between(self, start: int, end: int) -> list[Deletion]:
        """Deletions with ``start <= deleted_at < end``, oldest first (O(log n + found))."""
        low = bisect.bisect_left(self._deletions, start, key=lambda d: d.deleted_at)
        high = bisect.bisect_left(self._deletions, end, key=lambda d: d.deleted_at)
        return self._deletions[low:high]

    def latest_deletion(self) -> int | None:
        """When the last deletion happened (None: nothing deleted yet)."""
        return self._deletions[-1].deleted_at if self._deletions else None
