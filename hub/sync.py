"""The sync engine: read -> map -> seal -> upsert + cursor, one transaction per page.

Because a page, its cursor and the run's counters commit together, a process killed at any
point resumes from the last committed page; records read twice are idempotent upserts and
unchanged ones are skipped by content hash. Only one page (plus one read ahead) is in memory.
A run holds its stream's lease (hub.store.leases) from start to finish, so two runs of one
stream never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.connector import Connector, Page
from hub.errors import HubError, RecordInvalid, StreamBusy
from hub.mapping import StreamMapping
from hub.mapping import Tombstone as MappedTombstone
from hub.runtime import Hub, utcnow
from hub.store import leases
from hub.store.quarantine import QuarantineRow, count_open, quarantine_records, resolve_open
from hub.store.records import RecordRow, Tombstone, upsert_records
from hub.store.runs import (
    RunCounters,
    add_to_run,
    clear_state,
    close_run,
    load_state,
    open_run,
    save_state,
)
from hub.vault import seal_record, seal_value

QUARANTINE_TABLE = "quarantine"

log = logging.getLogger(__name__)


@dataclass
class StreamResult:
    """The outcome of syncing one stream, as the CLI and the scheduler report it."""

    connection: str
    stream: str
    run_id: int
    status: str = "running"
    error: str | None = None
    seconds: float = 0.0
    counters: RunCounters = field(default_factory=RunCounters)


ProgressCallback = Callable[[StreamResult], None]


def quarantine_row_key(connection: str, object_type: str, external_id: str | None) -> str:
    """The row context a quarantined payload is sealed under (see hub.vault)."""
    return f"{connection}/{object_type}/{external_id or '-'}"


def safe_error(exc: BaseException) -> str:
    """An error message fit for storage: hub errors are written to be safe, others are not."""
    if isinstance(exc, HubError):
        return str(exc)
    return f"{type(exc).__name__} (details withheld; run with --verbose to see the traceback)"


async def _read_ahead(pages: AsyncIterator[Page], depth: int = 1) -> AsyncIterator[Page]:
    """Fetch the next page while the current one is being written."""
    queue: asyncio.Queue[Page | BaseException | None] = asyncio.Queue(maxsize=depth)

    async def produce() -> None:
        try:
            async for page in pages:
                await queue.put(page)
            await queue.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            await queue.put(exc)

    task = asyncio.create_task(produce())
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        aclose = getattr(pages, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


class StreamSync:
    """Syncs one stream of one connection; one instance per run."""

    def __init__(self, hub: Hub, connector: Connector, stream: str) -> None:
        self.hub = hub
        self.connector = connector
        self.stream = connector.stream(stream)
        mapping = hub.mapping(connector.name)
        self.mapping: StreamMapping = mapping.stream(stream)
        self.mapping_version = mapping.version
        self.connection = connector.connection
        self._quarantine_open = False
        self.lease = hub.settings.sync_lease
        self._renewed = time.monotonic()  # when this run last renewed its lease
        self.result: StreamResult | None = None

    async def run(
        self, *, full_refresh: bool = False, progress: ProgressCallback | None = None
    ) -> StreamResult:
        started = time.monotonic()
        name = self.stream.name
        async with self.hub.engine.begin() as conn:
            now = utcnow()
            run_id = await open_run(
                conn,
                self.connection,
                name,
                kind="sync",
                full_refresh=full_refresh,
                now=now,
                lease=self.lease,
            )
            if full_refresh:
                await clear_state(conn, self.connection, name)
            state = await load_state(conn, self.connection, name)
            self._quarantine_open = await count_open(conn, self.connection) > 0
        result = self.result = StreamResult(self.connection, name, run_id)
        heartbeat = asyncio.create_task(self._heartbeat(run_id))
        try:
            async for page in _read_ahead(self.connector.read(name, state)):
                result.counters.add(await self.commit_page(run_id, page))
                result.seconds = time.monotonic() - started
                if progress is not None:
                    progress(result)
        except BaseException as exc:
            result.status, result.error = "failed", safe_error(exc)
            await self._finish(result, started, heartbeat)
            raise
        result.status = "succeeded"
        await self._finish(result, started, heartbeat)
        return result

    async def _heartbeat(self, run_id: int) -> None:
        """Renew the lease between pages, which rate limits and retries may keep far apart."""
        beat = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(beat)
            # Skipped while pages renew it: a beat during a page's transaction would open a
            # second database connection, which costs ~20 MB of RSS on SQLite (hub bench).
            if time.monotonic() - self._renewed < beat:
                continue
            try:
                async with self.hub.engine.begin() as conn:
                    await leases.renew(
                        conn,
                        self.connection,
                        self.stream.name,
                        run_id,
                        expires_at=utcnow() + self.lease,
                    )
            except StreamBusy as exc:
                log.warning("%s", exc)  # the next page's commit fails on the same fence
                return
            except Exception as exc:  # a database hiccup; the next beat or page renews
                log.warning("run %s could not renew its lease: %s", run_id, safe_error(exc))

    async def _finish(
        self, result: StreamResult, started: float, heartbeat: asyncio.Task[None]
    ) -> None:
        result.seconds = time.monotonic() - started
        heartbeat.cancel()
        await asyncio.wait([heartbeat])  # unlike awaiting it, never swallows our own cancel
        # Shielded: a cancelled or killed run must still say so when the process lives on.
        await asyncio.shield(
            close_run(
                self.hub.engine,
                self.connection,
                self.stream.name,
                result.run_id,
                status=result.status,
                error=result.error,
                now=utcnow(),
            )
        )

    def map_page(
        self, records: Sequence[dict[str, Any]]
    ) -> tuple[list[RecordRow], list[Tombstone], list[QuarantineRow]]:
        """Map and seal one page; invalid records become quarantine rows, never errors."""
        rows: list[RecordRow] = []
        tombstones: list[Tombstone] = []
        invalid: list[QuarantineRow] = []
        object_type = self.mapping.object_type
        for raw in records:
            try:
                mapped = self.mapping.apply(
                    raw, system=self.connector.name, connection=self.connection
                )
            except RecordInvalid as exc:
                row = quarantine_row_key(self.connection, object_type, exc.external_id)
                sealed = seal_value(
                    raw, self.hub.keyring, table=QUARANTINE_TABLE, column="raw", row=row
                )
                invalid.append(QuarantineRow(object_type, exc.external_id, sealed, str(exc)))
                continue
            if isinstance(mapped, MappedTombstone):
                tombstones.append(
                    Tombstone(mapped.object_type, mapped.external_id, mapped.source_updated_at)
                )
            else:
                rows.append(to_record_row(mapped, self.hub))
        return rows, tombstones, invalid

    async def commit_page(self, run_id: int, page: Page) -> RunCounters:
        """Write one page, its cursor and the run's counters in one transaction."""
        rows, tombstones, invalid = self.map_page(page.records)
        now = utcnow()
        async with self.hub.engine.begin() as conn:
            # First, so a run that lost its stream writes nothing (and takes SQLite's write lock).
            await leases.renew(
                conn, self.connection, self.stream.name, run_id, expires_at=now + self.lease
            )
            self._renewed = time.monotonic()
            counts = await upsert_records(
                conn,
                connection=self.connection,
                stream=self.stream.name,
                mapping_version=self.mapping_version,
                rows=rows,
                tombstones=tombstones,
                now=now,
            )
            if self._quarantine_open:
                keys = [(r.object_type, r.external_id) for r in rows]
                keys += [(t.object_type, t.external_id) for t in tombstones]
                await resolve_open(conn, self.connection, keys, now)
            await quarantine_records(
                conn,
                invalid,
                connection=self.connection,
                stream=self.stream.name,
                mapping_version=self.mapping_version,
                run_id=run_id,
                now=now,
            )
            self._quarantine_open = self._quarantine_open or bool(invalid)
            await save_state(conn, self.connection, self.stream.name, page.state, now)
            delta = RunCounters(
                pages=1,
                requests=page.requests,
                records_read=len(page.records),
                records_written=counts.written,
                records_unchanged=counts.unchanged,
                records_deleted=counts.deleted,
                records_quarantined=len(invalid),
            )
            await add_to_run(conn, run_id, delta)
        return delta


def to_record_row(record: Any, hub: Hub) -> RecordRow:
    """Seal a canonical model into a storable row."""
    sealed = seal_record(record, hub.keyring)
    p = record.provenance
    return RecordRow(
        object_type=p.object_type,
        external_id=p.external_id,
        kind=record.kind,
        data=sealed.data,
        raw=sealed.raw,
        content_hash=sealed.content_hash,
        index=sealed.index,
        source_updated_at=p.source_updated_at,
    )


async def sync_connection(
    hub: Hub,
    connection: str,
    *,
    streams: Sequence[str] | None = None,
    full_refresh: bool = False,
    progress: ProgressCallback | None = None,
    connector: Connector | None = None,
    raise_errors: bool = True,
) -> list[StreamResult]:
    """Sync the given streams (default: all) of one connection, one after another.

    A failing stream does not stop the others; its error is in its result, and with
    ``raise_errors`` the first failure is raised once every stream had its turn.
    """
    own = connector is None
    conn_obj = connector or await hub.connector(connection)
    names = list(streams) if streams else [s.name for s in conn_obj.streams]
    for name in names:
        conn_obj.stream(name)  # unknown stream names fail before anything runs
    results: list[StreamResult] = []
    first_error: BaseException | None = None
    try:
        for name in names:
            sync = StreamSync(hub, conn_obj, name)
            try:
                results.append(await sync.run(full_refresh=full_refresh, progress=progress))
            except HubError as exc:
                first_error = first_error or exc
                status = "busy" if isinstance(exc, StreamBusy) else "failed"
                results.append(
                    sync.result or StreamResult(connection, name, -1, status, safe_error(exc))
                )
    finally:
        if own:
            await conn_obj.aclose()
    if first_error is not None and raise_errors:
        raise first_error
    return results
