"""The sync through worker processes (``sync_workers``): it stores exactly what a sync in
process stores, commits page by page in order, survives a killed worker and a key rotation,
and a hub process killed inside a page resumes from its last committed page."""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub import sync as hub_sync
from hub import sync_workers
from hub.config import Settings, load_settings
from hub.connector import Page
from hub.run import Run
from hub.runtime import Hub, utcnow
from hub.services.check import check_store
from hub.services.sandboxes import connect_sandbox
from hub.store.runs import RunCounters
from hub.store.schema import quarantine, records, stream_state, subject_keys, sync_runs
from hub.sync import StreamSync, sync_connection
from hub.sync_workers import MappingRef, SyncWorkers, WorkerGone, worker_count
from hub.vault.cipher import header_key_id
from hub.vault.keyring import Keyring
from hub.vault.rotation import rotate_primary
from tests.connectors.zendesk.support import UNLIMITED, zendesk_config
from tests.support import kill_inside_a_batch, store_snapshot, sync_engine

CommitPage = Callable[[StreamSync, Run, Page], Any]


@pytest.fixture
def hub_settings(hub_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The hub of these tests maps and seals in one worker, every page (pages of 50), however
    far behind the worker falls."""
    monkeypatch.setattr(sync_workers, "_BACKLOG", 1_000)
    return hub_settings.model_copy(update={"sync_workers": 1, "sync_worker_min_records": 1})


@pytest.fixture
async def zendesk(hub: Hub) -> AsyncIterator[dict[str, object]]:
    """A Zendesk sandbox on a loopback port (240 tickets); the config of a connection to it
    with pages of 50."""
    from connectors.zendesk.sandbox import ZendeskSandbox
    from hub.sandbox.server import serve_in_background

    app = ZendeskSandbox(
        incremental_per_minute=UNLIMITED, rate_limit_per_minute=UNLIMITED, records=240, seed=11
    )
    async with serve_in_background(app) as running:
        yield zendesk_config(app, running, page_size=50)


def _workers(hub: Hub) -> SyncWorkers:
    assert hub.sync_workers is not None
    return hub.sync_workers


async def _in_process(hub: Hub, connection: str) -> list[Any]:
    """Sync ``connection`` with this hub's workers turned off."""
    with_workers = hub.settings
    hub.settings = with_workers.model_copy(update={"sync_workers": 0})
    try:
        return await sync_connection(hub, connection)
    finally:
        hub.settings = with_workers


async def _stored(hub: Hub, connection: str) -> set[tuple[Any, ...]]:
    """Every stored record's key, kind, content hash and deletion; and every open
    quarantine entry's key and reason."""
    async with hub.engine.connect() as conn:
        c, q = records.c, quarantine.c
        rows = await conn.execute(
            sa.select(c.object_type, c.external_id, c.kind, c.content_hash, c.deleted).where(
                c.connection == connection
            )
        )
        held = await conn.execute(
            sa.select(q.object_type, q.external_id, q.error).where(q.connection == connection)
        )
        return {("record", *r) for r in rows} | {("quarantine", *r) for r in held}


def _counters(results: list[Any]) -> dict[str, RunCounters]:
    return {r.stream: r.counters for r in results}


def _same_counts(a: RunCounters, b: RunCounters) -> bool:
    keep: tuple[str, ...] = ("records_read", "records_written", "records_unchanged")
    keep += ("records_deleted", "records_quarantined", "records_erased", "pages")
    return all(getattr(a, k) == getattr(b, k) for k in keep)


async def test_a_sync_through_workers_stores_exactly_what_a_sync_in_process_stores(
    hub: Hub, zendesk: dict[str, object]
) -> None:
    await connect_sandbox(hub, "viaw", "zendesk", zendesk)
    await connect_sandbox(hub, "here", "zendesk", zendesk)
    await _workers(hub).start()
    through = await sync_connection(hub, "viaw")
    pages = _workers(hub).pages
    assert pages == sum(r.counters.pages for r in through)  # every page, in a worker
    local = await _in_process(hub, "here")
    assert _workers(hub).pages == pages

    assert all(r.status == "succeeded" for r in [*through, *local])
    a, b = _counters(through), _counters(local)
    assert a.keys() == b.keys() and all(_same_counts(a[s], b[s]) for s in a)
    assert sum(c.records_quarantined for c in a.values()) > 0  # the sandbox's broken tickets
    # Same keyring, so the same content hashes; the plaintext opens the same.
    assert await _stored(hub, "viaw") == await _stored(hub, "here")
    assert await store_snapshot(hub, "viaw") == await store_snapshot(hub, "here")

    again = await sync_connection(hub, "viaw")  # incremental: the skip works as in process
    assert sum(r.counters.records_written for r in again) == 0
    refresh = await sync_connection(hub, "viaw", full_refresh=True)
    assert sum(r.counters.records_written for r in refresh) == 0
    assert sum(r.counters.records_unchanged for r in refresh) > 0
    assert (await check_store(hub)).ok


@pytest.fixture
def after_each_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Calls each ``hook(sync, page, n)`` (async) appended to the list after the n-th page
    of connection "zd" committed."""
    hooks: list[Any] = []
    real: CommitPage = StreamSync.commit_page
    seen = [0]

    async def commit_page(self: StreamSync, run: Run, page: Page) -> RunCounters:
        delta: RunCounters = await real(self, run, page)
        if self.connection == "zd":
            seen[0] += 1
            for hook in hooks:
                await hook(self, page, seen[0])
        return delta

    monkeypatch.setattr(StreamSync, "commit_page", commit_page)
    yield hooks


async def test_pages_commit_in_order_through_workers_each_with_its_own_cursor(
    hub: Hub, zendesk: dict[str, object], after_each_page: list[Any]
) -> None:
    await connect_sandbox(hub, "zd", "zendesk", zendesk)
    await _workers(hub).start()
    committed: list[tuple[str, Any, Any, int]] = []

    async def cursor_now(sync: StreamSync, page: Page, n: int) -> None:
        async with hub.engine.connect() as conn:
            state = await conn.scalar(
                sa.select(stream_state.c.state).where(
                    stream_state.c.connection == "zd", stream_state.c.stream == sync.stream.name
                )
            )
            pages = await conn.scalar(
                sa.select(sync_runs.c.pages).where(sync_runs.c.connection == "zd").order_by(
                    sync_runs.c.id.desc()
                ).limit(1)
            )  # fmt: skip
        committed.append((sync.stream.name, state, page.state, int(pages or 0)))

    after_each_page.append(cursor_now)
    results = await sync_connection(hub, "zd")
    assert _workers(hub).pages == len(committed) > 5
    for stream, stored_state, page_state, _ in committed:
        assert stored_state == page_state, stream  # each page's commit is its own cursor
    for result in results:  # the run's page counter steps by one, page after page
        steps = [p for s, _, _, p in committed if s == result.stream]
        assert steps == list(range(1, result.counters.pages + 1))


async def test_a_killed_worker_loses_nothing_and_the_sync_finishes_in_process(
    hub: Hub,
    zendesk: dict[str, object],
    after_each_page: list[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await connect_sandbox(hub, "zd", "zendesk", zendesk)
    await connect_sandbox(hub, "ref", "zendesk", zendesk)
    reference = await _in_process(hub, "ref")
    [pid] = await _workers(hub).start()

    async def kill(sync: StreamSync, page: Page, n: int) -> None:
        if n == 2:
            os.kill(pid, signal.SIGKILL)

    after_each_page.append(kill)
    with caplog.at_level(logging.WARNING, logger="hub.sync_workers"):
        results = await sync_connection(hub, "zd")
    assert any("ended unexpectedly" in r.getMessage() for r in caplog.records)
    assert all(r.status == "succeeded" for r in results)
    a, b = _counters(results), _counters(reference)
    assert all(_same_counts(a[s], b[s]) for s in a)
    assert await _stored(hub, "zd") == await _stored(hub, "ref")
    assert await store_snapshot(hub, "zd") == await store_snapshot(hub, "ref")
    assert (await check_store(hub)).ok
    assert pid not in await _workers(hub).pids()  # a fresh worker took over, or none yet


async def _tokens_under(hub: Hub, key_id: int) -> int:
    """How many stored values (records, quarantine, wrapped customer keys) key ``key_id``
    sealed."""
    found = 0

    def count(value: Any) -> None:
        nonlocal found
        if isinstance(value, dict):
            for v in value.values():
                count(v)
        elif isinstance(value, list):
            for v in value:
                count(v)
        elif header_key_id(value) == key_id:
            found += 1

    async with hub.engine.connect() as conn:
        for row in await conn.execute(sa.select(records.c.data, records.c.raw)):
            count(list(row))
        for (raw,) in await conn.execute(sa.select(quarantine.c.raw)):
            count(raw)
        for (wrapped,) in await conn.execute(sa.select(subject_keys.c.wrapped)):
            count(wrapped)
    return found


async def test_a_key_rotated_during_a_worker_sync_seals_nothing_more_under_the_demoted_key(
    hub: Hub,
    zendesk: dict[str, object],
    after_each_page: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await connect_sandbox(hub, "zd", "zendesk", zendesk)
    await _workers(hub).start()
    old = hub.keyring.primary("data").id
    at_rotation: list[int] = []

    async def rotate_elsewhere(sync: StreamSync, page: Page, n: int) -> None:
        if n == 2:  # another process rotates; this hub's keyring still has the old primary
            async with hub.engine.begin() as conn:
                await rotate_primary(conn, hub.master_key, "data", now=utcnow())
            at_rotation.append(await _tokens_under(hub, old))

    reloads: list[Keyring] = []
    real_reload = Hub.reload_keyring

    async def reload_keyring(self: Hub) -> Keyring:
        reloads.append(await real_reload(self))
        return reloads[-1]

    monkeypatch.setattr(Hub, "reload_keyring", reload_keyring)
    after_each_page.append(rotate_elsewhere)
    results = await sync_connection(hub, "zd")
    assert all(r.status == "succeeded" for r in results)
    assert len(reloads) == 1  # the page after the rotation was sealed again (in process)
    new = reloads[0].primary("data").id
    assert new != old
    assert at_rotation[0] > 0 and await _tokens_under(hub, old) == at_rotation[0]
    assert await _tokens_under(hub, new) > 0
    # Sealed in process: the page sealed again, and the next if it was sealed ahead before.
    assert 1 <= sum(r.counters.pages for r in results) - _workers(hub).pages <= 2
    assert (await check_store(hub)).ok


def _committed_pages(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.coalesce(sa.func.sum(sync_runs.c.pages), 0)).where(
            sync_runs.c.connection == "zd"
        )
        return int(conn.scalar(query) or 0)


def _cmdline(pid: int | str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _parent(pid: int | str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except (OSError, IndexError):
        return "0"


def _ends(done: Callable[[], bool], seconds: float = 10) -> bool:
    """Whether ``done()`` comes true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _worker_of(config: Path) -> bool:
    """Whether a ``hub --config CONFIG`` process has a sync worker up: a process forked by
    the forkserver that process started."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or b"forkserver" not in _cmdline(entry.name):
            continue
        server = _parent(entry.name)
        if b"forkserver" in _cmdline(server) and str(config).encode() in _cmdline(_parent(server)):
            return True
    return False


@pytest.mark.slow
async def test_a_hub_killed_inside_a_page_with_workers_resumes_from_its_last_committed_page(
    hub: Hub, hub_settings: Settings, tmp_path: Path
) -> None:
    """A real ``hub sync`` process, with a worker, SIGKILLed while a page's transaction waits
    for the write lock; the next run resumes and ends with what an uninterrupted sync stores."""
    import asyncio

    from hub.bench import _start_sandbox

    proc, info = await asyncio.to_thread(_start_sandbox, "zendesk", 600, 11)
    try:
        config = {**info["connection_config"], "page_size": 50}
        await connect_sandbox(hub, "zd", "zendesk", config)
        await connect_sandbox(hub, "ref", "zendesk", config)
        reference = await _in_process(hub, "ref")
        toml = hub_settings.home / "hub.toml"
        with toml.open("a", encoding="utf-8") as out:
            out.write("\nsync_workers = 1\nsync_worker_min_records = 1\n")
        assert load_settings(toml).sync_workers == 1
        url = hub_settings.resolved_database_url
        engine = sync_engine(url)
        try:
            await asyncio.to_thread(
                kill_inside_a_batch, toml, ("sync", "zd"), url, engine, "records",
                started=lambda: _committed_pages(engine) >= 3 and _worker_of(toml),
            )  # fmt: skip
            at_kill = _committed_pages(engine)
            assert await asyncio.to_thread(_ends, lambda: not _worker_of(toml)), (
                "the killed hub's worker is still running"
            )
        finally:
            engine.dispose()
        assert at_kill < sum(r.counters.pages for r in reference)
        resumed = await sync_connection(hub, "zd")  # this hub has a worker too
        assert all(r.status == "succeeded" for r in resumed)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait)
    assert await _stored(hub, "zd") == await _stored(hub, "ref")
    assert await store_snapshot(hub, "zd") == await store_snapshot(hub, "ref")
    async with hub.engine.connect() as conn:
        runs = (
            await conn.execute(sa.select(sync_runs).where(sync_runs.c.connection == "zd"))
        ).all()
    assert sum(r.pages for r in runs) >= sum(r.counters.pages for r in reference)
    assert (await check_store(hub)).ok


def test_auto_starts_no_worker_until_one_is_measured_to_pay() -> None:
    assert worker_count("auto") == 0
    assert worker_count(0) == 0 and worker_count(3) == 3


async def test_an_error_raised_in_a_worker_reaches_the_sync_with_its_type_and_message(
    hub: Hub,
) -> None:
    """What a worker raises (here: asked to map with keys it was never sent) arrives as the
    same exception type with the same message, without the worker's traceback."""
    from hub.sync_workers import MappingRef, WorkerGone, _Keys, _prepare, _submit

    workers = _workers(hub)
    await workers.start()
    worker = workers._workers[0]
    assert worker is not None
    ref = MappingRef("zendesk", tuple(str(d) for d in hub.mapping_dirs()), "users", "?")
    sent = _submit(worker.executor, _prepare, 1, _Keys((1, 2), None), ref, [], "zendesk", "zd", [])
    with pytest.raises(WorkerGone, match=r"^the worker does not hold the keys") as raised:
        await workers._result(0, worker, sent)
    assert raised.value.__cause__ is None


async def test_the_next_page_goes_to_its_worker_to_seal_before_this_page_commits(
    hub: Hub, zendesk: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker seals page n+1 while the hub writes page n: its seal is sent first."""
    await connect_sandbox(hub, "zd", "zendesk", zendesk)
    await _workers(hub).start()
    async with hub.connection("zd") as connector:  # read first: each page is at hand at once
        read = [p async for p in connector.read("tickets", None)]
    seals_sent_at_write: list[int] = []
    seals = [0]
    real_seal, real_store = SyncWorkers.seal, hub_sync.store_page

    def seal(self: SyncWorkers, *args: Any) -> Any:
        seals[0] += 1
        return real_seal(self, *args)

    async def store_page(*args: Any, **kwargs: Any) -> Any:
        seals_sent_at_write.append(seals[0])
        return await real_store(*args, **kwargs)

    monkeypatch.setattr(SyncWorkers, "seal", seal)
    monkeypatch.setattr(hub_sync, "store_page", store_page)
    result = await _sync_pages(hub, "zd", "tickets", read)
    pages = result.counters.pages
    assert pages == len(read) >= 4 and _workers(hub).pages == pages
    assert seals_sent_at_write == [min(n + 1, pages) for n in range(1, pages + 1)]


async def _sync_pages(hub: Hub, connection: str, stream: str, pages: list[Page]) -> Any:
    """Sync ``stream`` of ``connection`` from ``pages`` (copies), as if the vendor sent them."""

    async def read(name: str, state: Any) -> AsyncIterator[Page]:
        for page in pages:
            yield copy.deepcopy(page)

    async with hub.connection(connection) as connector:
        connector.read = read  # type: ignore[method-assign]
        return await StreamSync(hub, connector, stream).run()


async def _content_hash(hub: Hub, connection: str, external_id: str) -> str:
    async with hub.engine.connect() as conn:
        c = records.c
        found = await conn.scalar(
            sa.select(c.content_hash).where(
                c.connection == connection, c.object_type == "ticket", c.external_id == external_id
            )
        )
    assert found is not None
    return str(found)


async def test_a_record_that_consecutive_pages_carry_is_stored_as_the_later_page_has_it(
    hub: Hub, zendesk: dict[str, object]
) -> None:
    """The next page's stored hashes are read before this page commits: a ticket this page
    changes and the next changes back, and one both pages change alike, end as in process."""
    await connect_sandbox(hub, "zd", "zendesk", zendesk)
    await connect_sandbox(hub, "ref", "zendesk", zendesk)
    await _workers(hub).start()
    await sync_connection(hub, "zd")
    await _in_process(hub, "ref")
    async with hub.connection("zd") as connector:
        read = [p async for p in connector.read("tickets", None)]
    stored = {r[2] for r in await _stored(hub, "zd") if r[0] == "record" and r[1] == "ticket"}
    first = copy.deepcopy(read[0])
    reverted, twice = [t for t in first.records if str(t["id"]) in stored][:2]
    before = await _content_hash(hub, "zd", str(reverted["id"]))
    before_twice = await _content_hash(hub, "zd", str(twice["id"]))
    second = copy.deepcopy(read[1])
    second.records += [copy.deepcopy(reverted), copy.deepcopy(twice)]
    for ticket in (reverted, twice):
        ticket["subject"] = "changed by the first page"
    second.records[-1]["subject"] = "changed by the first page"
    pages = [first, second, copy.deepcopy(read[2])]

    through = await _sync_pages(hub, "zd", "tickets", pages)
    assert _workers(hub).pages >= len(read) + len(pages)  # these pages too, in the worker
    with_workers = hub.settings
    hub.settings = with_workers.model_copy(update={"sync_workers": 0})
    try:
        local = await _sync_pages(hub, "ref", "tickets", pages)
    finally:
        hub.settings = with_workers
    assert _same_counts(through.counters, local.counters)
    assert through.counters.records_written >= 3  # two changed, one changed back
    assert await _content_hash(hub, "zd", str(reverted["id"])) == before
    assert await _content_hash(hub, "zd", str(twice["id"])) != before_twice
    assert await _stored(hub, "zd") == await _stored(hub, "ref")
    assert await store_snapshot(hub, "zd") == await store_snapshot(hub, "ref")
    assert (await check_store(hub)).ok


async def test_a_page_read_while_the_worker_is_behind_is_mapped_in_process(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two tasks unfinished (the default backlog), the worker takes no further page;
    once it has caught up, it does."""
    monkeypatch.setattr(sync_workers, "_BACKLOG", 2)
    workers = _workers(hub)
    await workers.start()
    assert workers.wanted(100)
    ref = MappingRef("zendesk", tuple(str(d) for d in hub.mapping_dirs()), "tickets", "?")
    sent = [
        workers.prepare(hub.keyring, ref, [], system="zendesk", connection="zd", deleted_ids=[])
        for _ in range(2)
    ]
    assert not workers.wanted(100)  # behind: this page is mapped in process
    await asyncio.wait(sent)
    assert all(isinstance(s.exception(), WorkerGone) for s in sent)  # no such version
    assert workers.wanted(100)
