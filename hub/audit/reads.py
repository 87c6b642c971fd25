"""Group commit for audited reads of records (``hub customers show``, with or without
``--reveal``).

Concurrent reads in one process (API requests, tasks) hand their request to one batch: a
single transaction reads every record asked for, appends every read's entry and commits, and
only then does each caller get its record back. So a reveal's values are opened after its
entry is committed, as before, but 64 concurrent reveals cost one transaction (four
statements) instead of 64. Between processes the head row's lock still orders the batches
(docs/audit.md), so the tree stays one, without gaps or forks.

No background task: the first caller to find the batch free writes everything queued, the
others wait for its commit (or write the next batch). One caller's cancellation never fails
the others: the batch runs shielded, and a read it cancels was at worst recorded, never
released.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.audit.entry import AuditEntry
from hub.audit.trail import record_many
from hub.errors import AuditError
from hub.store.schema import records

MAX_BATCH = 256
# Built once; "ids" expands to the batch's record ids.
_READ_RECORDS = sa.select(records).where(records.c.id.in_(sa.bindparam("ids", expanding=True)))

# Given the record read (None when there is none), the entry to record; raising refuses the
# read without an entry (bad input: no such record, a field it does not have).
EntryFor = Callable[[Any], AuditEntry]

# Run on a batch's rows in its transaction before any entry is made: what reading them needs
# loaded (the customers' subject keys, so a forgotten customer is known as such).
BeforeEntries = Callable[[AsyncConnection, Sequence[Any]], Awaitable[None]]


@dataclass
class AuditedRead:
    """What one caller got: the record's row, the entry recorded for it and its number."""

    row: Any
    entry: AuditEntry
    seq: int


@dataclass
class _Request:
    record_id: int
    entry_for: EntryFor
    done: asyncio.Future[AuditedRead] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class AuditedReads:
    """The group commit of one hub's audited record reads (one per process)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = MAX_BATCH,
        before_entries: BeforeEntries | None = None,
    ) -> None:
        self._engine = engine
        self._before_entries = before_entries
        self._max_batch = max_batch
        self._queue: list[_Request] = []
        self._writing: asyncio.Lock | None = None
        self._in_flight: asyncio.Future[None] | None = None  # the batch being written
        self.batches = 0  # committed batches, for the bench and tests

    @property
    def queued(self) -> int:
        """Reads waiting for a batch to take them."""
        return len(self._queue)

    async def read(self, record_id: int, entry_for: EntryFor) -> AuditedRead:
        """Record ``record_id``'s row once the entry ``entry_for(row)`` is committed.

        Raises what ``entry_for`` raised (nothing recorded), or the batch's error when its
        transaction failed (nothing recorded, nothing to release)."""
        request = _Request(record_id, entry_for)
        self._queue.append(request)
        if self._writing is None:
            self._writing = asyncio.Lock()
        try:
            while not request.done.done():
                async with self._writing:
                    if request.done.done():
                        break
                    if self._in_flight is not None and not self._in_flight.done():
                        # Its writer was cancelled while it ran: wait for it, then look again.
                        await asyncio.wait([self._in_flight])
                        continue
                    batch = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                    self._in_flight = asyncio.ensure_future(self._write(batch))
                    await asyncio.shield(self._in_flight)
        except asyncio.CancelledError:
            if request in self._queue:
                self._queue.remove(request)
            raise
        return request.done.result()

    async def _write(self, batch: list[_Request]) -> None:
        """One transaction: read the records, append the entries, commit; then answer."""
        answers: list[tuple[_Request, AuditedRead]] = []
        try:
            async with self._engine.begin() as conn:
                ids = sorted({r.record_id for r in batch})
                rows = {row.id: row for row in await conn.execute(_READ_RECORDS, {"ids": ids})}
                if self._before_entries is not None and rows:
                    await self._before_entries(conn, list(rows.values()))
                for request in batch:
                    row = rows.get(request.record_id)
                    try:
                        entry = request.entry_for(row)
                    except Exception as exc:  # the caller's own refusal: bad input
                        _answer(request.done, exc)
                        continue
                    answers.append((request, AuditedRead(row, entry, 0)))
                seqs = await record_many(conn, [read.entry for _, read in answers])
        except Exception as exc:
            for request in batch:
                _answer(request.done, exc)
            return
        except BaseException:  # the loop is closing: nobody gets a value
            interrupted = AuditError("the audit batch was interrupted before its commit")
            for request in batch:
                _answer(request.done, interrupted)
            raise
        self.batches += 1
        for (request, read), seq in zip(answers, seqs, strict=True):
            read.seq = seq
            _answer(request.done, read)


def _answer(done: asyncio.Future[AuditedRead], outcome: AuditedRead | BaseException) -> None:
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
