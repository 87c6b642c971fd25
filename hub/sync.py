"""The sync engine: read -> map -> seal -> upsert + cursor, one transaction per page.

Because a page, its cursor and the run's counters commit together, a process killed at any
point resumes from the last committed page; records read twice are idempotent upserts and
unchanged ones are skipped by content hash. Only one page (plus one read ahead) is in memory.
Every run holds its stream's lease (:class:`hub.run.Run`), so two runs never interleave.

Mapping (:func:`prepare_page`), resolving the page's customer keys (:func:`resolve_subjects`,
one select) and sealing (:func:`seal_page`) happen before the page's transaction opens; the
transaction (:func:`store_page`) only writes, and calls the ``hub_page_transaction`` hook so
that other parts of the hub (identity links, audit entries) write in the same transaction as
the records they concern.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.connector import Connector, Page
from hub.errors import (
    ConnectorError,
    HubError,
    QuotaSpent,
    RecordInvalid,
    StreamBusy,
    Unreachable,
    VaultError,
    safe_error,
)
from hub.http import RetryListener, RetryNotice, retry_listener
from hub.mapping import StreamMapping
from hub.mapping import Tombstone as MappedTombstone
from hub.models import CanonicalRecord
from hub.plugins import plugin_manager
from hub.retention.arrivals import split_expired
from hub.run import Run, RunStopped, StreamResult
from hub.runtime import Hub, utcnow
from hub.store.quarantine import QuarantineRow, count_open, quarantine_records, resolve_open
from hub.store.records import (
    RecordRow,
    SoundCheck,
    StoredRecord,
    Tombstone,
    UnsealedRow,
    UpsertCounts,
    holds_records,
    stored_hashes,
    upsert_records,
)
from hub.store.retention import delete_stored_copies
from hub.store.runs import RunCounters, clear_state, load_state, save_state
from hub.vault import PreparedRecord, prepare_record, record_row, seal_record, seal_value
from hub.vault.data_key import SubjectKey
from hub.vault.keyring import Forgotten
from hub.vault.rotation import KeyringStale, confirm_primaries
from hub.vault.subjects import (
    Resolved,
    erased_among,
    subject_identity,
    subject_keys_for,
    subject_of,
)
from hub.vault.verify import record_opens, record_opens_as

__all__ = [
    "QUARANTINE_TABLE",
    "MappedPage",
    "PageWrite",
    "PreparedPage",
    "ProgressCallback",
    "StreamResult",
    "StreamSync",
    "prepare_page",
    "quarantine_row_key",
    "resolve_subjects",
    "safe_error",
    "seal_page",
    "store_page",
    "sync_connection",
]

QUARANTINE_TABLE = "quarantine"

log = logging.getLogger(__name__)

ProgressCallback = Callable[[StreamResult], None]


def quarantine_row_key(connection: str, object_type: str, external_id: str | None) -> str:
    """The row context a quarantined payload is sealed under (see hub.vault)."""
    return f"{connection}/{object_type}/{external_id or '-'}"


@dataclass
class MappedPage:
    """A page after mapping and sealing: ready to write, nothing in clear."""

    rows: list[RecordRow] = field(default_factory=list)
    tombstones: list[Tombstone] = field(default_factory=list)
    invalid: list[QuarantineRow] = field(default_factory=list)
    erased: int = 0  # records of forgotten customers: not stored, not quarantined
    unsealed: list[UnsealedRow] = field(default_factory=list)  # unchanged: no token built


@dataclass
class PreparedPage:
    """A page after mapping, before sealing: each valid record with its content hash and blind
    indexes but no token yet (so an unchanged one need never be sealed), invalid ones with
    their error. Holds plaintext, in memory only, never stored like this."""

    connection: str
    object_type: str
    records: list[PreparedRecord] = field(default_factory=list)
    tombstones: list[Tombstone] = field(default_factory=list)
    invalid: list[tuple[dict[str, Any], RecordInvalid]] = field(default_factory=list)

    def subjects(self) -> tuple[set[str], set[str]]:
        """The customers this page's records belong to (their keys are created when missing),
        and the identities of its invalid records (only looked up: an invalid record may be a
        customer's, but a key is made only for a record known to be one)."""
        owners = {s for s in (subject_of(p.record) for p in self.records) if s is not None}
        invalid = {
            subject_identity(self.connection, self.object_type, exc.external_id)
            for _, exc in self.invalid
            if exc.external_id
        }
        return owners, invalid


@dataclass(frozen=True)
class PageWrite:
    """What one transaction writes to a stream, as the ``hub_page_transaction`` hook sees it.

    Records are sealed; hooks get keys and blind-index digests, never personal values.
    ``rows`` are the page's sealed records; a record the sync found unchanged before sealing
    (its content hash equal to the stored copy's) is not sealed and not among them: its
    ``(object_type, external_id)`` is in ``unchanged``.
    """

    connection: str
    stream: str
    run_id: int
    mapping_version: str
    rows: Sequence[RecordRow]
    tombstones: Sequence[Tombstone]
    now: datetime
    unchanged: Sequence[tuple[str, str]] = ()


def prepare_page(
    hub: Hub,
    mapping: StreamMapping,
    records: Sequence[dict[str, Any]],
    *,
    system: str,
    connection: str,
    deleted_ids: Sequence[str] = (),
) -> PreparedPage:
    """Map one page and compute each record's content hash, sealing nothing; invalid records
    are kept with their error, never raised. A key repeated in the page keeps its last
    occurrence, as the upsert would: the records are then distinct and their order no longer
    matters.

    ``deleted_ids`` are records the vendor reports deleted by id alone: tombstones.
    """
    out = PreparedPage(connection=connection, object_type=mapping.object_type)
    latest: dict[tuple[str, str], PreparedRecord] = {}
    for raw in records:
        try:
            mapped = mapping.apply(raw, system=system, connection=connection)
        except RecordInvalid as exc:
            out.invalid.append((raw, exc))
            continue
        if isinstance(mapped, MappedTombstone):
            out.tombstones.append(
                Tombstone(mapped.object_type, mapped.external_id, mapped.source_updated_at)
            )
        else:
            p = mapped.provenance
            key = (p.object_type, p.external_id)
            latest.pop(key, None)  # re-inserted: the last occurrence keeps its place
            latest[key] = prepare_record(mapped, hub.keyring)
    out.records = list(latest.values())
    out.tombstones += [Tombstone(mapping.object_type, str(i), None) for i in deleted_ids]
    return out


def seal_page(
    hub: Hub,
    prepared: PreparedPage,
    subjects: Mapping[str, Resolved],
    *,
    stored: Mapping[tuple[str, str], str] | None = None,
) -> MappedPage:
    """Seal a prepared page with the customer keys resolved for it (a pure function of the
    records and the keys): a customer's records under their key, others under the data key;
    a forgotten customer's records are dropped and counted as ``erased``.

    With ``stored`` (content hashes of the stored copies by key), a record whose hash equals
    its stored copy's is not sealed: it becomes an :class:`UnsealedRow`, which the page's
    transaction seals only if that copy changed in between.
    """
    out = MappedPage(tombstones=prepared.tombstones)
    for raw, exc in prepared.invalid:
        identity = subject_identity(
            prepared.connection, prepared.object_type, exc.external_id or ""
        )
        key = subjects.get(identity) if exc.external_id else None
        if isinstance(key, Forgotten):
            out.erased += 1
            continue
        row = quarantine_row_key(prepared.connection, prepared.object_type, exc.external_id)
        sealed = seal_value(
            raw, hub.keyring, table=QUARANTINE_TABLE, column="raw", row=row, subject_key=key
        )
        out.invalid.append(QuarantineRow(prepared.object_type, exc.external_id, sealed, str(exc)))
    for record in prepared.records:
        model = record.record
        owner = subject_of(model)
        key = None if owner is None else subjects.get(owner)
        if isinstance(key, Forgotten):
            out.erased += 1
            continue
        if owner is not None and key is None:
            raise VaultError(f"the customer key of a {model.kind} record was not resolved")
        p = model.provenance
        if stored is not None and stored.get((p.object_type, p.external_id)) == record.content_hash:
            out.unsealed.append(unsealed_row(record, hub, subject_key=key))
        else:
            out.rows.append(to_record_row(record, hub, subject_key=key))
    return out


async def resolve_subjects(
    conn: AsyncConnection, hub: Hub, prepared: PreparedPage
) -> dict[str, Resolved]:
    """The customer keys a prepared page needs (one select; new keys inserted), in ``conn``."""
    owners, invalid = prepared.subjects()
    if not owners and not invalid:
        return {}
    return await subject_keys_for(conn, hub.keyring, owners, lookup_only=invalid)


def to_record_row(record: Any, hub: Hub, *, subject_key: SubjectKey | None = None) -> RecordRow:
    """Seal a canonical model (or one prepared by :func:`prepare_page`) into a storable row,
    under its customer's key if given."""
    sealed = seal_record(record, hub.keyring, subject_key=subject_key)
    model = record.record if isinstance(record, PreparedRecord) else record
    p = model.provenance
    return RecordRow(
        object_type=p.object_type,
        external_id=p.external_id,
        kind=model.kind,
        data=sealed.data,
        raw=sealed.raw,
        content_hash=sealed.content_hash,
        index=sealed.index,
        source_updated_at=p.source_updated_at,
        hash_key_id=sealed.hash_key_id,
        subject_key_id=None if subject_key is None else subject_key.id,
    )


@functools.cache
def _personal_fields(model: type[CanonicalRecord]) -> frozenset[str]:
    return frozenset(model.pii_fields())


def unsealed_row(
    prepared: PreparedRecord, hub: Hub, *, subject_key: SubjectKey | None = None
) -> UnsealedRow:
    """A prepared record the page's transaction seals only if it must be written after all."""
    model = prepared.record
    p = model.provenance
    personal = _personal_fields(type(model))
    return UnsealedRow(
        p.object_type,
        p.external_id,
        prepared.content_hash,
        prepared.index,
        kind=model.kind,
        data={k: v for k, v in prepared.plain.items() if k not in personal},
        source_updated_at=p.source_updated_at,
        seal=lambda: to_record_row(prepared, hub, subject_key=subject_key),
        source=prepared,
        subject_key_id=None if subject_key is None else subject_key.id,
    )


async def store_page(
    conn: AsyncConnection,
    hub: Hub,
    write: PageWrite,
    *,
    recheck: bool = False,
    unsealed: Sequence[UnsealedRow] = (),
) -> UpsertCounts:
    """Upsert a page's records and tombstones in ``conn``'s transaction, then let plugins
    write theirs (``hub_page_transaction``) in the same transaction.

    ``unsealed`` are records found unchanged before sealing: still unchanged here, they are
    counted so and the hook sees their keys in ``unchanged``; changed after all (or unsound
    in a full refresh), they are sealed now, written, and among the hook's ``rows``.

    With ``recheck`` (a full refresh) a record the vendor sent unchanged is still rewritten
    when its stored sealed values no longer open or its index rows were changed.

    A record already past its retention period is not stored (and a stored copy of it is
    deleted): it counts as unchanged, and plugins do not see it (docs/retention.md).
    """
    policy = hub.settings.retention
    kept, expired = split_expired(write.rows, policy, write.now)
    kept_unsealed, expired_unsealed = split_expired(unsealed, policy, write.now)
    if expired or expired_unsealed:
        keys = [(r.object_type, r.external_id) for r in expired]
        keys += [(r.object_type, r.external_id) for r in expired_unsealed]
        await delete_stored_copies(conn, write.connection, keys)
    counts = await upsert_records(
        conn,
        connection=write.connection,
        stream=write.stream,
        mapping_version=write.mapping_version,
        rows=[*kept, *kept_unsealed],
        tombstones=list(write.tombstones),
        now=write.now,
        sound=_sound_as_stored(hub, write.connection) if recheck else None,
    )
    counts.unchanged += len(expired) + len(expired_unsealed)
    if expired or unsealed:
        late = [r for r in (u.was_sealed for u in kept_unsealed) if r is not None]
        write = replace(
            write,
            rows=[*kept, *late],
            unchanged=[
                *write.unchanged,
                *((u.object_type, u.external_id) for u in kept_unsealed if u.was_sealed is None),
            ],
        )
    for outcome in plugin_manager().hook.hub_page_transaction(hub=hub, conn=conn, write=write):
        if inspect.isawaitable(outcome):
            await outcome
    return counts


def _sound_as_stored(hub: Hub, connection: str) -> SoundCheck:
    """Whether a stored record still opens, matches its content hash, and has exactly the
    index rows its fresh copy would get."""

    def sound(stored: StoredRecord, fresh: RecordRow | UnsealedRow) -> bool:
        if set(fresh.index) != stored.index:
            return False
        row = record_row(connection, stored.object_type, stored.external_id)
        if isinstance(fresh, UnsealedRow) and isinstance(fresh.source, PreparedRecord):
            # The fresh plaintext is at hand, with the stored hash: compare texts, not hashes.
            return record_opens_as(
                fresh.source, stored.kind, stored.data, stored.raw, hub.keyring, row=row
            )
        return record_opens(
            stored.kind, stored.data, stored.raw, stored.content_hash, hub.keyring, row=row
        )

    return sound


async def _read_ahead(pages: AsyncIterator[Page], depth: int = 1) -> AsyncGenerator[Page]:
    """Fetch the next page while the current one is being written.

    When the consumer stops early (a failed commit, a cancel), the producer is cancelled and
    awaited, so no task is left blocked on the full queue.
    """
    queue: asyncio.Queue[Page | Exception | None] = asyncio.Queue(maxsize=depth)

    async def produce() -> None:
        try:
            async for page in pages:
                await queue.put(page)
        except Exception as exc:  # handed to the consumer, which re-raises it
            await queue.put(exc)
            return
        await queue.put(None)

    task = asyncio.create_task(produce(), name="read-ahead")
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        task.cancel()
        await asyncio.wait([task])  # a cancelled put ends the producer; never eats our cancel
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
        self._full_refresh = False
        self._stored_before = True  # whether the stream's object type had records stored
        self.result: StreamResult | None = None
        self.taken_from: int | None = None  # the run whose lapsed lease this run took over

    async def run(
        self,
        *,
        full_refresh: bool = False,
        progress: ProgressCallback | None = None,
        stop: asyncio.Event | None = None,
    ) -> StreamResult:
        """Sync the stream to its end; when ``stop`` is set, end after the page being
        committed (a wait for the next page is cut short) with RunStopped."""
        async with Run(
            self.hub, self.connection, self.stream.name, kind="sync", full_refresh=full_refresh
        ) as run:
            self.result = run.result
            self.taken_from = run.taken_from
            self._full_refresh = full_refresh
            sent_before = _requests_sent(self.connector)
            try:
                await self._read_and_commit(
                    run, full_refresh=full_refresh, progress=progress, stop=stop
                )
            finally:  # however the run ends, it reports every request it sent
                sent_now = _requests_sent(self.connector)
                if sent_before is not None and sent_now is not None:
                    run.sent(sent_now - sent_before)
        return run.result

    async def _read_and_commit(
        self,
        run: Run,
        *,
        full_refresh: bool,
        progress: ProgressCallback | None,
        stop: asyncio.Event | None,
    ) -> None:
        name = self.stream.name
        async with self.hub.engine.begin() as conn:
            if full_refresh:
                await clear_state(conn, self.connection, name)
            state = await load_state(conn, self.connection, name)
            self._quarantine_open = await count_open(conn, self.connection) > 0
            self._stored_before = await holds_records(
                conn, self.connection, self.mapping.object_type
            )
        with contextlib.ExitStack() as stack:
            if progress is not None:
                stack.enter_context(retry_listener(_show_retries(run.result, progress)))
            pages = _read_ahead(self._counted(self.connector.read(name, state)))
            bounded = self._within_deadline(pages, stop)
            # Stop the read-ahead now, not at GC.
            async with contextlib.aclosing(pages), contextlib.aclosing(bounded):
                async for page in bounded:
                    run.committed(await self.commit_page(run, page))
                    run.result.waiting = None
                    if progress is not None:
                        progress(run.result)

    async def _within_deadline(
        self, pages: AsyncIterator[Page], stop: asyncio.Event | None = None
    ) -> AsyncGenerator[Page]:
        """``pages`` until the run's deadline (``stream_run_deadline_seconds``) passes, or
        ``stop`` is set (RunStopped).

        Only the wait for the next page is bounded, never a page's commit: a run stopped by
        its deadline or by ``stop`` leaves the store as its last committed page left it.
        """
        seconds = self.hub.settings.stream_run_deadline_seconds
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            budget = asyncio.timeout_at(deadline)
            try:
                async with budget:
                    page = await _unless_stopped(anext(pages), stop)
            except StopAsyncIteration:
                return
            except TimeoutError:
                if not budget.expired():
                    raise
                raise ConnectorError(
                    f"the run stopped at its {seconds:g} s deadline "
                    "(stream_run_deadline_seconds); the pages committed so far are kept and "
                    "the next run resumes after them",
                    connection=self.connection,
                    stream=self.stream.name,
                ) from None
            yield page

    async def _counted(self, pages: AsyncIterator[Page]) -> AsyncIterator[Page]:
        """Pages with ``requests`` set from the connection's transport, which counts every
        request really sent (retries and token calls included)."""
        before = _requests_sent(self.connector)
        async for page in pages:
            now = _requests_sent(self.connector)
            if now is None or before is None:  # a client not built by hub.http counts nothing
                yield page
                continue
            page.requests = now - before
            before = now
            yield page

    async def commit_page(self, run: Run, page: Page) -> RunCounters:
        """Write one page, its cursor and the run's counters in one transaction.

        A page sealed just before another process rotated a key is sealed again with the
        reloaded keyring (:func:`hub.vault.rotation.confirm_primaries`), so a rotation never
        stops a sync and nothing is written under a demoted key.
        """
        try:
            return await self._commit_page(run, page)
        except KeyringStale:
            await self.hub.reload_keyring()
            return await self._commit_page(run, page)

    async def _commit_page(self, run: Run, page: Page) -> RunCounters:
        keyring = self.hub.keyring  # the keyring the page is sealed with, checked in the write
        prepared = prepare_page(
            self.hub,
            self.mapping,
            page.records,
            system=self.connector.name,
            connection=self.connection,
            deleted_ids=page.deleted_ids,
        )
        # The page's customer keys and tombstones (one select, committed on its own: a key
        # made for a page that then fails is simply used by the next try), and the stored
        # hashes that let an unchanged record go unsealed, both before the write transaction,
        # so sealing never holds the database's write lock.
        async with self.hub.engine.begin() as conn:
            subjects = await resolve_subjects(conn, self.hub, prepared)
            stored = await self._stored_hashes(conn, prepared)
        mapped = seal_page(self.hub, prepared, subjects, stored=stored)
        now = utcnow()
        async with self.hub.engine.begin() as conn:
            await run.renew(conn)  # first, and it takes SQLite's write lock
            await confirm_primaries(conn, keyring)
            mapped = await _without_forgotten_since(conn, mapped)
            counts = await store_page(
                conn,
                self.hub,
                PageWrite(
                    self.connection,
                    self.stream.name,
                    run.id,
                    self.mapping_version,
                    mapped.rows,
                    mapped.tombstones,
                    now,
                ),
                recheck=self._full_refresh,
                unsealed=mapped.unsealed,
            )
            if any(u.was_sealed is not None for u in mapped.unsealed):
                # Sealed in this transaction, after the check above, under the key it just
                # confirmed (and holds): count those seals too.
                await confirm_primaries(conn, keyring)
            if self._quarantine_open:
                keys = [(r.object_type, r.external_id) for r in mapped.rows]
                keys += [(u.object_type, u.external_id) for u in mapped.unsealed]
                keys += [(t.object_type, t.external_id) for t in mapped.tombstones]
                await resolve_open(conn, self.connection, keys, now)
            await quarantine_records(
                conn,
                mapped.invalid,
                connection=self.connection,
                stream=self.stream.name,
                mapping_version=self.mapping_version,
                run_id=run.id,
                now=now,
            )
            self._quarantine_open = self._quarantine_open or bool(mapped.invalid)
            await save_state(conn, self.connection, self.stream.name, page.state, now)
            delta = RunCounters(
                pages=1,
                requests=page.requests,
                records_read=len(page.records) + len(page.deleted_ids),
                records_written=counts.written,
                records_unchanged=counts.unchanged,
                records_deleted=counts.deleted,
                records_quarantined=len(mapped.invalid),
                records_erased=mapped.erased,
            )
            await run.count(conn, delta)
        return delta

    async def _stored_hashes(
        self, conn: AsyncConnection, prepared: PreparedPage
    ) -> dict[tuple[str, str], str] | None:
        """The stored content hashes of the page's records, or None in a run that began with
        none of the stream's records stored (a first sync: every record is new, or written by
        this run's own earlier pages, so nothing is read and every record is sealed)."""
        if not prepared.records or not self._stored_before:
            return None
        keys = {(p.record.provenance.object_type, p.record.provenance.external_id)
                for p in prepared.records}  # fmt: skip
        return await stored_hashes(conn, self.connection, keys)


async def _without_forgotten_since(conn: AsyncConnection, mapped: MappedPage) -> MappedPage:
    """The page less the records of customers forgotten since their keys were resolved (a
    forget that committed between the two transactions): they count as erased too."""
    rows: list[RecordRow | UnsealedRow] = [*mapped.rows, *mapped.unsealed]
    ids = {r.subject_key_id for r in rows if r.subject_key_id is not None}
    forgotten = await erased_among(conn, ids)
    if not forgotten:
        return mapped
    kept = [r for r in mapped.rows if r.subject_key_id not in forgotten]
    unsealed = [u for u in mapped.unsealed if u.subject_key_id not in forgotten]
    dropped = len(mapped.rows) - len(kept) + len(mapped.unsealed) - len(unsealed)
    return replace(mapped, rows=kept, unsealed=unsealed, erased=mapped.erased + dropped)


async def _unless_stopped(next_page: Awaitable[Page], stop: asyncio.Event | None) -> Page:
    """The next page, unless ``stop`` is set first: then the read is cancelled (nothing of
    it was committed) and RunStopped raised."""
    if stop is None:
        return await next_page
    if stop.is_set():
        if inspect.iscoroutine(next_page):
            next_page.close()
        raise RunStopped("the service is stopping")
    reading = asyncio.ensure_future(next_page)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([reading, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reading, stopping):
            if not task.done():
                task.cancel()
        await asyncio.wait([reading, stopping])
    if not reading.cancelled() and reading.done() and reading.exception() is None:
        return reading.result()  # a page read as the stop came: committed, then the stop
    if reading.cancelled():
        raise RunStopped("the service is stopping")
    return reading.result()  # re-raises the read's error


def _show_retries(result: StreamResult, progress: ProgressCallback) -> RetryListener:
    """A retry listener that puts the coming retry on the stream's progress line."""

    def show(notice: RetryNotice) -> None:
        result.waiting = str(notice)
        progress(result)

    return show


def _requests_sent(connector: Connector) -> int | None:
    try:
        return connector.requests_sent
    except ValueError:
        return None


async def sync_connection(
    hub: Hub,
    connection: str,
    *,
    streams: Sequence[str] | None = None,
    full_refresh: bool = False,
    progress: ProgressCallback | None = None,
    raise_errors: bool = True,
) -> list[StreamResult]:
    """Sync the given streams (default: all) of one connection, one after another, through
    the connection's one runtime (client, limiter and credentials shared by every stream).

    A failing stream does not stop the others; its error is in its result, and with
    ``raise_errors`` the first failure is raised once every stream had its turn. Once the
    connection's address proved unreachable (refused, unknown host), the streams after it are
    not tried: they are ``skipped`` with the same reason; so are they once the vendor's
    allowance proved spent (QuotaSpent), which every further request would only hit again.
    """
    results: list[StreamResult] = []
    first_error: BaseException | None = None
    stopped: str | None = None  # why the connection's remaining streams are skipped
    async with hub.connection(connection) as connector:
        connector.warn_if_insecure()
        names = list(streams) if streams else [s.name for s in connector.streams]
        for name in names:
            connector.stream(name)  # unknown stream names fail before anything runs
        for name in names:
            if stopped is not None:
                results.append(StreamResult(connection, name, -1, "skipped", stopped))
                continue
            sync = StreamSync(hub, connector, name)
            try:
                results.append(await sync.run(full_refresh=full_refresh, progress=progress))
            except HubError as exc:
                first_error = first_error or exc
                if isinstance(exc, Unreachable):
                    stopped = exc.detail
                elif isinstance(exc, QuotaSpent):
                    stopped = safe_error(exc)
                status = "busy" if isinstance(exc, StreamBusy) else "failed"
                results.append(
                    sync.result or StreamResult(connection, name, -1, status, safe_error(exc))
                )
            finally:
                if sync.result is not None:
                    sync.result.waiting = None  # the stream ended: no retry is coming
                    if progress is not None:
                        progress(sync.result)  # its line shows the end, and its timer stops
    if first_error is not None and raise_errors:
        raise first_error
    return results
