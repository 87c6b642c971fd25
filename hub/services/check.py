"""`hub check`: open every sealed value, blind-index row and wrapped key the store holds, in
batches, and report each one that does not open or no longer matches, by table, row and
reason. Nothing is written: repairs are a ``--full-refresh`` sync (records) or a restore."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.connection_config import open_personal_config
from hub.errors import HubError
from hub.runtime import Hub
from hub.store.engine import sqlite_file
from hub.store.file_modes import loose_paths
from hub.store.records import index_rows
from hub.store.schema import connections, data_keys, quarantine, records, secrets, subject_keys
from hub.sync import QUARANTINE_TABLE, quarantine_row_key
from hub.vault import record_row
from hub.vault.subjects import holds_erased, load_subject_keys, unwrap_subject_key
from hub.vault.verify import expected_index, open_problem, record_problems

BATCH = 500
TABLES = ("data_keys", "secrets", "connections", "subject_keys", "records", "quarantine")

CheckProgress = Callable[[str, int, int], None]
"""Called after each batch with (table, rows checked so far, rows in the table)."""


@dataclass(frozen=True)
class CheckFailure:
    """One stored value that does not open, or no longer matches what it belongs to."""

    table: str
    row: str  # the row's id or name, and for records its connection/object_type/external_id
    column: str
    reason: str


@dataclass
class CheckReport:
    checked: dict[str, int] = field(default_factory=dict)  # rows read, by table
    failures: list[CheckFailure] = field(default_factory=list)
    # Rows whose values belong to a forgotten customer (shredded on purpose: not damage).
    erased: dict[str, int] = field(default_factory=dict)

    def count_erased(self, table: str) -> None:
        self.erased[table] = self.erased.get(table, 0) + 1

    @property
    def ok(self) -> bool:
        return not self.failures


async def check_store(
    hub: Hub, *, batch: int = BATCH, progress: CheckProgress | None = None
) -> CheckReport:
    """Check every table that holds sealed values (see :data:`TABLES`)."""
    report = CheckReport()
    tell = progress or (lambda table, done, total: None)
    async with hub.engine.connect() as conn:
        total = await _count(conn, data_keys)
        for key_id, reason in sorted(hub.keyring.damaged.items()):
            report.failures.append(CheckFailure("data_keys", str(key_id), "wrapped", reason))
        report.checked["data_keys"] = total
        tell("data_keys", total, total)
        _check_file_modes(hub, report)
        for table, check in (
            ("secrets", _check_secrets),
            ("connections", _check_connections),
            ("subject_keys", _check_subject_keys),
            ("records", _check_records),
            ("quarantine", _check_quarantine),
        ):
            report.checked[table] = await check(hub, conn, report, batch, tell)
    return report


def _check_file_modes(hub: Hub, report: CheckReport) -> None:
    """A SQLite hub's folder and files open to other users (the files were tightened when
    the hub opened, with a warning; a shared folder is the user's to fix)."""
    database = sqlite_file(hub.settings.resolved_database_url)
    if database is None:
        return
    for loose in loose_paths(database):
        report.failures.append(CheckFailure("files", str(loose.path), "mode", loose.problem()))


async def _count(conn: AsyncConnection, table: sa.Table) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def _batches(
    conn: AsyncConnection, query: sa.Select[Any], key: sa.ColumnElement[Any], size: int
) -> AsyncIterator[list[sa.Row[Any]]]:
    """The rows of ``query`` in ``key`` order, ``size`` at a time (keyset paging: each batch
    is one short query, so a big table never sits in memory or in one long transaction)."""
    last: Any = None
    while True:
        page = query.order_by(key).limit(size)
        if last is not None:
            page = page.where(key > last)
        rows = list(await conn.execute(page))
        if not rows:
            return
        yield rows
        last = rows[-1]._mapping[key.name]
        await conn.rollback()  # end the read transaction between batches


async def _check_secrets(
    hub: Hub, conn: AsyncConnection, report: CheckReport, size: int, tell: CheckProgress
) -> int:
    total, done = await _count(conn, secrets), 0
    query = sa.select(secrets.c.name, secrets.c.sealed)
    async for rows in _batches(conn, query, secrets.c.name, size):
        for r in rows:
            reason = open_problem(
                r.sealed, hub.keyring, table="secrets", column="sealed", row=r.name
            )
            if reason is not None:
                report.failures.append(CheckFailure("secrets", r.name, "sealed", reason))
        done += len(rows)
        tell("secrets", done, total)
    return done


async def _check_connections(
    hub: Hub, conn: AsyncConnection, report: CheckReport, size: int, tell: CheckProgress
) -> int:
    total, done = await _count(conn, connections), 0
    query = sa.select(connections.c.name, connections.c.connector, connections.c.config)
    async for rows in _batches(conn, query, connections.c.name, size):
        for r in rows:
            try:
                open_personal_config(r.connector, r.name, dict(r.config), hub.keyring)
            except HubError as exc:
                report.failures.append(CheckFailure("connections", r.name, "config", str(exc)))
        done += len(rows)
        tell("connections", done, total)
    return done


async def _check_subject_keys(
    hub: Hub, conn: AsyncConnection, report: CheckReport, size: int, tell: CheckProgress
) -> int:
    """Each customer key still unwraps; a forgotten customer's row is counted as erased."""
    total, done = await _count(conn, subject_keys), 0
    c = subject_keys.c
    query = sa.select(c.id, c.subject_hash, c.wrapped)
    async for rows in _batches(conn, query, c.id, size):
        for r in rows:
            if r.wrapped is None:
                report.count_erased("subject_keys")
                continue
            try:
                unwrap_subject_key(r.wrapped, hub.keyring, r.subject_hash)
            except HubError as exc:
                report.failures.append(CheckFailure("subject_keys", str(r.id), "wrapped", str(exc)))
        done += len(rows)
        tell("subject_keys", done, total)
    return done


async def _check_records(
    hub: Hub, conn: AsyncConnection, report: CheckReport, size: int, tell: CheckProgress
) -> int:
    total, done = await _count(conn, records), 0
    query = sa.select(
        records.c.id,
        records.c.connection,
        records.c.object_type,
        records.c.external_id,
        records.c.kind,
        records.c.data,
        records.c.raw,
        records.c.content_hash,
        records.c.deleted,
    )
    async for rows in _batches(conn, query, records.c.id, size):
        index = await index_rows(conn, [r.id for r in rows])
        await load_subject_keys(conn, hub.keyring, [(r.data, r.raw) for r in rows])
        for r in rows:
            if not r.deleted:
                if holds_erased(hub.keyring, [(r.data, r.raw)]):
                    report.count_erased("records")
                    continue
                _check_record(hub, r, index.get(r.id, set()), report)
        done += len(rows)
        tell("records", done, total)
    return done


def _check_record(
    hub: Hub, r: sa.Row[Any], stored_index: set[tuple[str, int, str]], report: CheckReport
) -> None:
    row = record_row(r.connection, r.object_type, r.external_id)
    name = f"{r.id} ({row})"
    problems = record_problems(r.kind, dict(r.data), r.raw, r.content_hash, hub.keyring, row=row)
    if r.raw is None:  # stripped by retention: its fields still open; its hash needs the payload
        problems = [p for p in problems if p.column != "raw"]
    for problem in problems:
        report.failures.append(CheckFailure("records", name, problem.column, problem.reason))
    if problems:
        return  # its index cannot be recomputed from values that do not open
    expected = expected_index(r.kind, dict(r.data), hub.keyring, row=row)
    for kind, key_id, _digest in sorted(stored_index - expected):
        report.failures.append(
            CheckFailure(
                "blind_index",
                f"record {r.id} ({row})",
                f"{kind} (key {key_id})",
                "matches no value of its record (moved from another record, or forged)",
            )
        )
    for kind in sorted({k for k, _, _ in expected} - {k for k, _, _ in stored_index}):
        report.failures.append(
            CheckFailure(
                "blind_index",
                f"record {r.id} ({row})",
                kind,
                "missing: the record has a value of this kind but no index row for it",
            )
        )


async def _check_quarantine(
    hub: Hub, conn: AsyncConnection, report: CheckReport, size: int, tell: CheckProgress
) -> int:
    total, done = await _count(conn, quarantine), 0
    query = sa.select(
        quarantine.c.id,
        quarantine.c.connection,
        quarantine.c.object_type,
        quarantine.c.external_id,
        quarantine.c.raw,
    )
    async for rows in _batches(conn, query, quarantine.c.id, size):
        await load_subject_keys(conn, hub.keyring, [r.raw for r in rows])
        for r in rows:
            if holds_erased(hub.keyring, [r.raw]):
                report.count_erased("quarantine")
                continue
            context = quarantine_row_key(r.connection, r.object_type, r.external_id)
            reason = open_problem(
                r.raw, hub.keyring, table=QUARANTINE_TABLE, column="raw", row=context
            )
            if reason is not None:
                report.failures.append(CheckFailure("quarantine", str(r.id), "raw", reason))
        done += len(rows)
        tell("quarantine", done, total)
    return done
