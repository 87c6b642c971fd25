"""What each retention purge touches in the store, found and changed in bounded batches.

A purge walks each table in windows of ids and, in each, purges the rows past the cutoff as
they are stored then. It keeps no progress of its own: one killed mid-batch loses that
batch's transaction, and the next run finds the rest. Applying a batch twice changes nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.retention.ages import CASE_DATES, CLOSED, INTERACTION_DATES, record_clock_start
from hub.store.schema import blind_index, outbox, quarantine, records, sync_runs

Action = Literal["strip", "delete"]

# A timestamp written with a UTC offset is at most 14 hours from its text read as UTC: text
# one day past the cutoff bounds every row that can be due, and each is then checked exactly.
_TEXT_MARGIN = timedelta(days=1)
_OLDEST_SAMPLE = 20


class Target(ABC):
    """One data type's rows in the store: which are covered, when each one's clock started,
    and what its purge does to them."""

    key: str
    action: Action
    table: sa.Table

    @abstractmethod
    def scope(self) -> sa.ColumnElement[bool]:
        """Which rows of the table the period covers at all."""

    @abstractmethod
    def columns(self) -> Sequence[sa.ColumnElement[Any]]:
        """What :meth:`clock_start` reads of a row."""

    @abstractmethod
    def candidates(self, cutoff: datetime) -> sa.ColumnElement[bool]:
        """A condition every due row meets (it may let a few others through)."""

    @abstractmethod
    def clock_start(self, row: sa.Row[Any]) -> datetime:
        """When the row's period started (exactly, where :meth:`candidates` may be loose)."""

    @abstractmethod
    async def oldest(self, conn: AsyncConnection) -> datetime | None:
        """The earliest clock start of a covered row, None when there is none."""

    @abstractmethod
    async def apply(self, conn: AsyncConnection, ids: Sequence[int], cutoff: datetime) -> int:
        """Purge those of ``ids`` still due (a sync may have changed one since it was
        examined); how many were purged."""

    def still_due(self, ids: Sequence[int], cutoff: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(self.table.c.id.in_(list(ids)), self.scope(), self.candidates(cutoff))


class DatedRows(Target):
    """Rows whose clock starts at one timestamp column, deleted (or stripped) whole."""

    def __init__(
        self,
        key: str,
        table: sa.Table,
        column: sa.ColumnElement[Any],
        scope: sa.ColumnElement[bool],
        *,
        strip: sa.Column[Any] | None = None,
    ) -> None:
        self.key, self.table, self._column, self._scope = key, table, column, scope
        self._strip = strip
        self.action = "strip" if strip is not None else "delete"

    def scope(self) -> sa.ColumnElement[bool]:
        return self._scope

    def columns(self) -> Sequence[sa.ColumnElement[Any]]:
        return [self._column.label("clock")]

    def candidates(self, cutoff: datetime) -> sa.ColumnElement[bool]:
        return self._column < cutoff

    def clock_start(self, row: sa.Row[Any]) -> datetime:
        return _aware(row.clock)

    async def oldest(self, conn: AsyncConnection) -> datetime | None:
        found = await conn.scalar(sa.select(sa.func.min(self._column)).where(self._scope))
        return _aware(found) if found is not None else None

    async def apply(self, conn: AsyncConnection, ids: Sequence[int], cutoff: datetime) -> int:
        where = self.still_due(ids, cutoff)
        if self._strip is not None:
            query = sa.update(self.table).where(where).values({self._strip.name: None})
            return (await conn.execute(query)).rowcount
        return (await conn.execute(sa.delete(self.table).where(where))).rowcount


class DatedRecords(Target):
    """Canonical records of one kind whose clock starts at a date in their data."""

    action: Action = "delete"
    table = records

    def __init__(self, key: str, kind: str, dates: Sequence[str], *, status: str | None) -> None:
        self.key, self._kind, self._dates, self._status = key, kind, tuple(dates), status

    def _date_text(self) -> sa.ColumnElement[Any]:
        texts = [records.c.data[name].as_string() for name in self._dates]
        return texts[0] if len(texts) == 1 else sa.func.coalesce(*texts)

    def _fallback(self) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(records.c.source_updated_at, records.c.created_at)

    def scope(self) -> sa.ColumnElement[bool]:
        scope = sa.and_(records.c.kind == self._kind, records.c.deleted.is_(False))
        if self._status is not None:
            scope = sa.and_(scope, records.c.data["status"].as_string() == self._status)
        return scope

    def columns(self) -> Sequence[sa.ColumnElement[Any]]:
        dates = [records.c.data[name].as_string().label(name) for name in self._dates]
        return [*dates, records.c.source_updated_at, records.c.created_at]

    def candidates(self, cutoff: datetime) -> sa.ColumnElement[bool]:
        margin = (cutoff + _TEXT_MARGIN).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        text = self._date_text()
        return sa.or_(text < margin, sa.and_(text.is_(None), self._fallback() < cutoff))

    def clock_start(self, row: sa.Row[Any]) -> datetime:
        data = {name: getattr(row, name) for name in self._dates}
        source_updated = _aware(row.source_updated_at) if row.source_updated_at else None
        return record_clock_start(self._kind, data, source_updated, _aware(row.created_at))

    async def oldest(self, conn: AsyncConnection) -> datetime | None:
        text = self._date_text()
        dated = sa.select(records.c.id, *self.columns()).where(self.scope(), text.is_not(None))
        sample = await conn.execute(dated.order_by(text).limit(_OLDEST_SAMPLE))
        found = [self.clock_start(row) for row in sample]
        undated = await conn.scalar(
            sa.select(sa.func.min(self._fallback())).where(self.scope(), text.is_(None))
        )
        if undated is not None:
            found.append(_aware(undated))
        return min(found, default=None)

    async def apply(self, conn: AsyncConnection, ids: Sequence[int], cutoff: datetime) -> int:
        return len(await delete_records(conn, self.still_due(ids, cutoff)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


RAW_PAYLOADS = DatedRows(
    "raw_payloads",
    records,
    records.c.updated_at,
    sa.and_(records.c.raw.is_not(None), records.c.deleted.is_(False)),
    strip=records.c.raw,
)
INTERACTIONS = DatedRecords("interactions", "interaction", INTERACTION_DATES, status=None)
CLOSED_CASES = DatedRecords("closed_cases", "case", CASE_DATES, status=CLOSED)
QUARANTINE = DatedRows("quarantine", quarantine, quarantine.c.last_seen_at, sa.true())
# A run taken over from a dead process may have no end: its start stands in.
RUN_HISTORY = DatedRows(
    "run_history",
    sync_runs,
    sa.func.coalesce(sync_runs.c.finished_at, sync_runs.c.started_at),
    sync_runs.c.status != "running",
)
SENT_MESSAGES = DatedRows(
    "sent_messages",
    outbox,
    outbox.c.sent_at,
    sa.and_(outbox.c.status == "sent", outbox.c.message.is_not(None)),
    strip=outbox.c.message,
)
# In the order a purge runs. Payloads go first, so each type's count is the same whether it is
# purged or only counted (a dry run): a payload past its date is stripped even when its record
# is deleted next, as an interaction or closed case.
TARGETS: tuple[Target, ...] = (
    RAW_PAYLOADS, INTERACTIONS, CLOSED_CASES, QUARANTINE, RUN_HISTORY, SENT_MESSAGES
)  # fmt: skip


async def id_ceiling(conn: AsyncConnection, target: Target) -> int:
    """The highest id in the target's table now (0 when it is empty)."""
    return int(await conn.scalar(sa.select(sa.func.max(target.table.c.id))) or 0)


async def examine(
    conn: AsyncConnection, target: Target, cutoff: datetime, *, after: int, limit: int
) -> list[int]:
    """The due rows among ids ``after + 1`` to ``after + limit``.

    A window of ids, not "the next ``limit`` candidates": each batch reads a bounded range of
    the primary key whatever the planner thinks of the other conditions, so a purge costs the
    same per batch at the start of a big table as at its end.
    """
    table = target.table
    query = (
        sa.select(table.c.id, *target.columns())
        .where(table.c.id > after, table.c.id <= after + limit)
        .where(target.scope(), target.candidates(cutoff))
        .order_by(table.c.id)
    )
    return [row.id for row in await conn.execute(query) if target.clock_start(row) < cutoff]


async def delete_records(conn: AsyncConnection, where: sa.ColumnElement[bool]) -> list[int]:
    """Delete the records ``where`` selects, and their blind-index rows; their ids.

    The records go first: on SQLite that takes the write lock before anything else is
    decided. Their index rows are deleted by id too, not left to the cascade alone.
    """
    deleted = list(await conn.scalars(sa.delete(records).where(where).returning(records.c.id)))
    for start in range(0, len(deleted), 500):
        chunk = deleted[start : start + 500]
        await conn.execute(sa.delete(blind_index).where(blind_index.c.record_id.in_(chunk)))
    return deleted


async def delete_stored_copies(
    conn: AsyncConnection, connection: str, keys: Sequence[tuple[str, str]]
) -> None:
    """Delete the stored records of these (object type, external id) keys, if any."""
    by_type: dict[str, list[str]] = {}
    for object_type, external_id in keys:
        by_type.setdefault(object_type, []).append(external_id)
    for object_type, external_ids in by_type.items():
        for start in range(0, len(external_ids), 500):
            await delete_records(
                conn,
                sa.and_(
                    records.c.connection == connection,
                    records.c.object_type == object_type,
                    records.c.external_id.in_(external_ids[start : start + 500]),
                ),
            )
