"""The sync engine: read -> map -> seal -> upsert + cursor, one transaction per page.

Because a page, its cursor and the run's counters commit together, a process killed at any
point resumes from the last committed page; records read twice are idempotent upserts and
unchanged ones are skipped by content hash. Only one page (plus one read ahead) is in memory.
Every run holds its stream's lease (:class:`hub.run.Run`), so two runs never interleave.

Mapping (:func:`prepare_page`), resolving the page's customer keys (:func:`resolve_subjects`,
one select) and sealing (:func:`seal_page`) happen before the page's transaction opens; the
transaction (:func:`store_page`) only writes, and calls the ``hub_page_transaction`` hook so
that other parts of the hub (identity links, audit entries) write in the same transaction as
the records they concern. On PostgreSQL the page read ahead is mapped while the page
before it waits on the server (:meth:`StreamSync._prepared_ahead`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    Sequence,
    Set,
)
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.connector import Connector, Page
from hub.errors import (
    ConnectorError,
    HubError,
    QuotaSpent,
    StreamBusy,
    Unreachable,
    safe_error,
)
from hub.http import RetryListener, RetryNotice, retry_listener
from hub.mapping import StreamMapping
from hub.pages import (
    QUARANTINE_TABLE,
    MappedPage,
    PagePreparer,
    PreparedPage,
    prepare_page,
    quarantine_row_key,
    seal_page,
    to_record_row,
    unsealed_row,
)
from hub.plugins import plugin_manager
from hub.retention.arrivals import split_expired
from hub.run import Run, RunStopped, StreamResult
from hub.runtime import Hub, utcnow
from hub.store.quarantine import count_open, quarantine_records, resolve_open
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
from hub.sync_workers import (
    MappingRef,
    Prepared,
    Sealed,
    SyncWorkers,
    WorkerDied,
    WorkerGone,
    as_mapped,
    generation_of,
)
from hub.vault import PreparedRecord, record_row
from hub.vault.data_key import SubjectKey
from hub.vault.keyring import Keyring
from hub.vault.rotation import KeyringStale, confirm_primaries
from hub.vault.subjects import (
    Resolved,
    erased_among,
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
    "to_record_row",
    "unsealed_row",
]

log = logging.getLogger(__name__)

# Records mapped ahead between two turns of the event loop: small enough that the page
# committing meanwhile waits little for the loop, large enough that the turns cost little.
PREPARE_STEP = 50

ProgressCallback = Callable[[StreamResult], None]


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


async def resolve_subjects(
    conn: AsyncConnection, hub: Hub, owners: Set[str], invalid: Set[str]
) -> dict[str, Resolved]:
    """The customer keys a page needs, in ``conn`` (one select; new keys inserted): those of
    its records' ``owners``, created when missing, and of its ``invalid`` records' identities,
    only looked up (see :meth:`hub.pages.PreparedPage.subjects`)."""
    if not owners and not invalid:
        return {}
    return await subject_keys_for(conn, hub.keyring, owners, lookup_only=invalid)


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
        # Worker processes that map and seal (hub.sync_workers); each page sent to one as it
        # was read (by id(page)), whose commit awaits what the worker prepared; and the page
        # sent back to its worker to seal while the page before it commits.
        self._workers = hub.sync_workers
        self._mapping_ref = MappingRef(
            connector.name,
            tuple(str(d) for d in hub.mapping_dirs()),
            stream,
            mapping.version,
        )
        self._ahead: dict[int, tuple[Page, asyncio.Future[tuple[int, Prepared]]]] = {}
        self._sealing: dict[int, tuple[Page, _Sealing]] = {}
        # Pages mapped here, by id(page), as they are read: in steps, between the awaits of
        # the page before's transaction.
        self._preparing: dict[int, tuple[Page, _Preparing]] = {}

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
            read = self._sent_ahead(self._counted(self.connector.read(name, state)))
            if self.hub.engine.dialect.name != "sqlite":
                read = self._prepared_ahead(read)
            pages = _read_ahead(read)
            bounded = self._within_deadline(pages, stop)
            # Stop the read-ahead now, not at GC.
            try:
                async with contextlib.aclosing(pages), contextlib.aclosing(bounded):
                    async for page in bounded:
                        run.committed(await self.commit_page(run, page))
                        run.result.waiting = None
                        if progress is not None:
                            progress(run.result)
            finally:
                self._drop_ahead()

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

    async def _sent_ahead(self, pages: AsyncIterator[Page]) -> AsyncIterator[Page]:
        """``pages``, each sent to a worker to map as it is read (when it is large enough
        and a worker is up), so that it is mapped while the page before it commits."""
        async for page in pages:
            sent = self._send(page)
            if sent is not None:
                self._ahead[id(page)] = (page, sent)
            yield page

    async def _prepared_ahead(self, pages: AsyncIterator[Page]) -> AsyncIterator[Page]:
        """``pages``, each one not sent to a worker mapped here as it is read, a few records
        at a time: the event loop maps it while the page before it waits on the database
        server. Not on SQLite, whose work in this process's own thread leaves the loop little
        to fill: there it cost CPU and bought no time (docs/performance.md, "Mapping ahead
        on PostgreSQL")."""
        async for page in pages:
            if id(page) not in self._ahead and page.records:
                keyring = self.hub.keyring
                task = asyncio.create_task(self._prepare_in_steps(page), name="prepare-ahead")
                self._preparing[id(page)] = (page, _Preparing(keyring, task))
            yield page

    async def _prepare_in_steps(self, page: Page) -> PreparedPage:
        preparer = PagePreparer(
            self.hub, self.mapping, system=self.connector.name, connection=self.connection
        )
        records = page.records
        for start in range(0, len(records), PREPARE_STEP):
            await asyncio.sleep(0)  # first: the page's reader goes on at once
            preparer.add(records[start : start + PREPARE_STEP])
        return preparer.finish(page.deleted_ids)

    def _send(self, page: Page) -> asyncio.Future[tuple[int, Prepared]] | None:
        workers = self._workers
        if workers is None or self._full_refresh or not workers.wanted(len(page.records)):
            # A full refresh is mapped here: nearly every record comes back unchanged, and
            # its prepared plaintext would cost more to send back than the worker saves
            # (docs/performance.md, "Worker processes (issue 15)").
            return None
        try:
            return workers.prepare(
                self.hub.keyring,
                self._mapping_ref,
                page.records,
                system=self.connector.name,
                connection=self.connection,
                deleted_ids=page.deleted_ids,
            )
        except WorkerGone:  # it died before taking the page: mapped here (logged by the pool)
            return None

    def _drop_ahead(self) -> None:
        """Let the workers drop the pages sent ahead that this run will not commit; count
        the seals of a page sealed ahead against the keyring all the same."""
        ahead, self._ahead = list(self._ahead.values()), {}
        sealing, self._sealing = list(self._sealing.values()), {}
        preparing, self._preparing = list(self._preparing.values()), {}
        for _, mapped_ahead in preparing:
            mapped_ahead.drop()
        workers = self._workers
        for _, sent in ahead:
            if workers is not None:
                sent.add_done_callback(functools.partial(_discard_prepared, workers))
        for _, staged in sealing:
            staged.sealed.add_done_callback(functools.partial(_count_seals, self.hub))

    async def commit_page(self, run: Run, page: Page) -> RunCounters:
        """Write one page, its cursor and the run's counters in one transaction.

        A page sealed just before another process rotated a key is sealed again with the
        reloaded keyring (:func:`hub.vault.rotation.confirm_primaries`), so a rotation never
        stops a sync and nothing is written under a demoted key.
        """
        ahead = self._ahead.pop(id(page), (None, None))[1]
        sealing = self._sealing.pop(id(page), (None, None))[1]
        preparing = self._preparing.pop(id(page), (None, None))[1]
        try:
            return await self._commit_page(run, page, ahead, sealing, preparing)
        except KeyringStale:
            await self.hub.reload_keyring()
            return await self._commit_page(run, page, None, None, None)
        finally:
            if preparing is not None:  # not left running when the commit failed before it
                preparing.drop()

    async def _commit_page(
        self,
        run: Run,
        page: Page,
        ahead: asyncio.Future[tuple[int, Prepared]] | None,
        sealing: _Sealing | None,
        preparing: _Preparing | None,
    ) -> RunCounters:
        # The next page goes to its worker to seal now, so that it is sealed while this one
        # is mapped here or commits (the worker's core would otherwise wait for those).
        await self._seal_next()
        mapped, keyring, in_worker = await self._mapped(page, ahead, sealing, preparing)
        now = utcnow()
        async with self.hub.engine.begin() as conn:
            await run.renew(conn)  # first, and it takes SQLite's write lock
            await confirm_primaries(conn, keyring)  # the keyring the page is sealed with
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
                done = [(r.object_type, r.external_id) for r in mapped.rows]
                done += [(u.object_type, u.external_id) for u in mapped.unsealed]
                done += [(t.object_type, t.external_id) for t in mapped.tombstones]
                await resolve_open(conn, self.connection, done, now)
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
        if in_worker and self._workers is not None:
            self._workers.pages += 1
        return delta

    async def _mapped(
        self,
        page: Page,
        ahead: asyncio.Future[tuple[int, Prepared]] | None,
        sealing: _Sealing | None,
        preparing: _Preparing | None,
    ) -> tuple[MappedPage, Keyring, bool]:
        """The page mapped and sealed, the keyring it is sealed with, and whether a worker
        sealed it (sealed ahead, or sent ahead as it was read), else here."""
        if sealing is not None and sealing.keyring is not self.hub.keyring:
            sealing.sealed.add_done_callback(functools.partial(_count_seals, self.hub))
            sealing = None  # sealed before the keyring was reloaded: sealed again
        keyring = self.hub.keyring
        if sealing is None:
            staged = await self._in_worker(keyring, ahead)
            sealing = None if staged is None else await self._seal_in_worker(staged, keyring)
        mapped = None if sealing is None else await self._sealed_in_worker(sealing)
        if mapped is not None:
            return mapped, keyring, True
        # Here: no worker is up, the page is small, or its worker died or cannot map it.
        if preparing is not None and preparing.keyring is keyring:
            prepared = await preparing.task
        else:  # mapped ahead with keys since reloaded (dropped by commit_page), or not at all
            prepared = self._prepare(page)
        subjects, stored = await self._before_sealing(*prepared.subjects(), prepared.keys())
        return seal_page(self.hub, prepared, subjects, stored=stored), keyring, False

    def _prepare(self, page: Page) -> PreparedPage:
        return prepare_page(
            self.hub,
            self.mapping,
            page.records,
            system=self.connector.name,
            connection=self.connection,
            deleted_ids=page.deleted_ids,
        )

    async def _before_sealing(
        self, owners: Set[str], invalid: Set[str], keys: Set[tuple[str, str]]
    ) -> tuple[dict[str, Resolved], dict[tuple[str, str], str] | None]:
        """The page's customer keys and the stored hashes that let an unchanged record go
        unsealed, in a transaction of their own (one select each; new customer keys are
        committed: a key made for a page that then fails is simply used by the next try),
        so that sealing never holds the database's write lock.

        Read before the page before this one commits, when the page is sealed ahead: a
        stored hash read so early is safe to use, as the page's transaction seals and writes
        a record found unchanged whose stored copy moved meanwhile, and skips a sealed one
        whose stored copy is already the same.
        """
        async with self.hub.engine.begin() as conn:
            subjects = await resolve_subjects(conn, self.hub, owners, invalid)
            stored = await self._stored_hashes(conn, keys)
        return subjects, stored

    async def _in_worker(
        self, keyring: Keyring, ahead: asyncio.Future[tuple[int, Prepared]] | None
    ) -> tuple[int, Prepared] | None:
        """The page as a worker prepared it with ``keyring``'s keys, or None: it is mapped
        in process (not sent ahead: no worker was up and free, or the page is small; its
        worker died or cannot load this mapping; or it was prepared with older keys).

        A page not sent ahead is not sent now: waiting here for a worker's two round trips
        takes longer than mapping and sealing the page in process."""
        if ahead is None or self._workers is None:
            return None
        try:
            staged = await ahead
        except WorkerDied:
            return None  # logged by the pool; the next page goes to a fresh worker
        except WorkerGone as exc:
            log.warning("%s: mapped in this process: %s", self.stream.name, exc)
            self._workers = None
            return None
        if staged[1].generation != generation_of(keyring):
            self._workers.discard([(staged[0], staged[1].task)])  # prepared with older keys
            return None
        return staged

    async def _seal_in_worker(self, staged: tuple[int, Prepared], keyring: Keyring) -> _Sealing:
        """Send a page its worker prepared back to it to seal, with the customer keys and
        stored hashes that takes."""
        assert self._workers is not None
        index, prepared = staged
        subjects, stored = await self._before_sealing(
            prepared.owners, prepared.invalid, prepared.keys
        )
        sealed = self._workers.seal(index, prepared, keyring, subjects, stored)
        return _Sealing(keyring, subjects, sealed)

    async def _seal_next(self) -> None:
        """Send the next page read to its worker to seal, if a worker prepared it (once it
        has): it is then sealed while this page commits."""
        if self._sealing or not self._ahead or self._workers is None:
            return
        key, (page, sent) = next(iter(self._ahead.items()))
        await asyncio.wait([sent])
        keyring = self.hub.keyring
        if sent.cancelled() or sent.exception() is not None:
            return  # its own commit sees why, and maps it here
        staged = sent.result()
        if staged[1].generation != generation_of(keyring):
            return  # prepared with keys since replaced: its own commit maps it here
        del self._ahead[key]
        self._sealing[key] = (page, await self._seal_in_worker(staged, keyring))

    async def _sealed_in_worker(self, sealing: _Sealing) -> MappedPage | None:
        """The page its worker sealed, or None if the worker died meanwhile."""
        try:
            sealed = await sealing.sealed
        except WorkerGone:
            return None
        self.hub.keyring.add_seals(sealed.seals)  # confirmed against the primaries in the write
        unsealed = []
        for source in sealed.unsealed:
            owner = subject_of(source.record)
            key = None if owner is None else sealing.subjects.get(owner)
            subject_key = key if isinstance(key, SubjectKey) else None
            unsealed.append(unsealed_row(source, self.hub, subject_key=subject_key))
        return as_mapped(sealed, unsealed)

    async def _stored_hashes(
        self, conn: AsyncConnection, keys: Set[tuple[str, str]]
    ) -> dict[tuple[str, str], str] | None:
        """The stored content hashes of the page's records, or None in a run that began with
        none of the stream's records stored (a first sync: every record is new, or written by
        this run's own earlier pages, so nothing is read and every record is sealed)."""
        if not keys or not self._stored_before:
            return None
        return await stored_hashes(conn, self.connection, set(keys))


@dataclass(frozen=True)
class _Preparing:
    """A page being mapped here ahead of its commit, with the keyring whose hash keys it
    uses."""

    keyring: Keyring
    task: asyncio.Task[PreparedPage]

    def drop(self) -> None:
        """Stop mapping the page (if it still is); an error it ended with is let go, not
        logged."""
        self.task.cancel()
        self.task.add_done_callback(lambda t: t.cancelled() or t.exception())


@dataclass(frozen=True)
class _Sealing:
    """A page sent to its worker to seal: with the keyring and customer keys it is sealed
    with."""

    keyring: Keyring
    subjects: Mapping[str, Resolved]
    sealed: asyncio.Future[Sealed]


def _count_seals(hub: Hub, sealed: asyncio.Future[Sealed]) -> None:
    """Count a dropped page's seals against the keyring all the same (written with the next
    page's): values were sealed under those keys, stored or not."""
    if not sealed.cancelled() and sealed.exception() is None:
        hub.keyring.add_seals(sealed.result().seals)


def _discard_prepared(workers: SyncWorkers, sent: asyncio.Future[tuple[int, Prepared]]) -> None:
    """Once a page sent ahead is prepared, let its worker drop it (it will not be sealed)."""
    if sent.cancelled() or sent.exception() is not None:
        return
    index, prepared = sent.result()
    workers.discard([(index, prepared.task)])


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
