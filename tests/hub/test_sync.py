"""The sync engine end to end, against the memory connector: what a sync stores, what a second
sync rewrites, how failures and plugins meet the page transaction."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub import sync as sync_module
from hub.errors import ConfigError, StoreError
from hub.pages import PagePreparer
from hub.plugins import hookimpl, register_plugin, unregister_plugin
from hub.runtime import Hub
from hub.store.schema import quarantine, records, stream_state, sync_runs
from hub.sync import QUARANTINE_TABLE, PageWrite, quarantine_row_key, sync_connection
from hub.testing import MemorySource
from hub.testing.memory import MAPPINGS_DIR as MEMORY_MAPPINGS
from hub.testing.memory import Change
from hub.vault import open_value
from hub.vault.rotation import key_rows
from tests.support import store_snapshot

STREAMS = {"people", "cases"}


async def test_full_sync_stores_every_stream_then_incremental_sync_rewrites_nothing(
    hub: Hub, memory: MemorySource
) -> None:
    gone = memory.put("people", {**memory.latest("people")["p5"], "deleted": True})
    first = await sync_connection(hub, "mem")
    assert {r.stream for r in first} == STREAMS
    assert all(r.status == "succeeded" for r in first)
    for r in first:
        c = r.counters
        assert c.records_read > 0, r.stream
        assert (
            c.records_read
            == c.records_written + c.records_unchanged + c.records_deleted + c.records_quarantined
        )
    people = next(r for r in first if r.stream == "people").counters
    cases = next(r for r in first if r.stream == "cases").counters
    assert cases.pages > 1  # pages of 25: the cursor really moved between pages
    assert people.records_deleted > 0  # a person flagged deleted after being created
    assert cases.records_quarantined > 0  # the source makes some cases invalid on purpose

    second = await sync_connection(hub, "mem")
    assert sum(r.counters.records_written for r in second) == 0
    assert {r.stream: r.counters.records_read for r in second} == {"people": 0, "cases": 0}

    async with hub.engine.connect() as conn:
        kinds = dict(
            (
                await conn.execute(
                    sa.select(records.c.kind, sa.func.count()).group_by(records.c.kind)
                )
            ).all()
        )
        states = (await conn.execute(sa.select(sa.func.count()).select_from(stream_state))).scalar()
        runs = (await conn.execute(sa.select(sync_runs.c.status))).scalars().all()
    assert set(kinds) == {"customer", "case"}
    assert states == len(STREAMS)
    assert runs == ["succeeded"] * (2 * len(STREAMS))
    assert (await store_snapshot(hub, "mem"))[("person", gone["id"])][1] is True


async def test_changes_in_the_source_reach_the_store_on_the_next_sync(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem")
    before = await store_snapshot(hub, "mem")
    changed = set()
    for stream, object_type, record_id in (
        ("people", "person", "p1"),
        ("people", "person", "p7"),
        ("cases", "case", "c2"),
        ("cases", "case", "c30"),
    ):
        record = memory.latest(stream)[record_id]
        memory.put(stream, {**record, "tags": [*record["tags"], "changed"]})
        changed.add((object_type, record_id))
    results = await sync_connection(hub, "mem")
    after = await store_snapshot(hub, "mem")
    assert sum(r.counters.records_written for r in results) == len(changed)
    differing = {k for k in after if after[k] != before.get(k)}
    assert differing == changed
    assert all("changed" in after[k][2]["tags"] for k in changed)  # type: ignore[operator]


async def test_full_refresh_reads_everything_again_but_writes_only_changes(
    hub: Hub, memory: MemorySource
) -> None:
    first = await sync_connection(hub, "mem", streams=["people"])
    again = await sync_connection(hub, "mem", streams=["people"], full_refresh=True)
    assert again[0].counters.records_read == first[0].counters.records_read
    assert again[0].counters.records_written == 0
    assert again[0].counters.records_unchanged == first[0].counters.records_written


async def _data_key_seals(hub: Hub) -> int:
    async with hub.engine.connect() as conn:
        rows = await key_rows(conn)
    return sum(r.seals for r in rows if r.purpose == "data")


async def test_a_full_refresh_of_unchanged_records_seals_only_the_still_invalid_ones(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem")
    before = await _data_key_seals(hub)
    again = await sync_connection(hub, "mem", full_refresh=True)
    unchanged = sum(r.counters.records_unchanged for r in again)
    quarantined = sum(r.counters.records_quarantined for r in again)
    assert unchanged > 100 and sum(r.counters.records_written for r in again) == 0
    # Each still-invalid record's payload is sealed again for the quarantine (one token);
    # the unchanged records build none.
    assert await _data_key_seals(hub) - before == quarantined > 0


async def test_a_record_whose_stored_copy_changed_after_the_hash_check_is_sealed_and_written(
    hub: Hub, memory: MemorySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored hashes are read before the page's transaction; should the stored copy move
    in between, the transaction notices and writes the fresh record, sealed there."""
    await sync_connection(hub, "mem", streams=["people"])
    good = await store_snapshot(hub, "mem")
    real = sync_module.stored_hashes

    async def then_changed_elsewhere(
        conn: AsyncConnection, connection: str, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        found = await real(conn, connection, keys)
        if ("person", "p1") not in keys:
            return found
        async with hub.engine.begin() as other:  # another writer, between check and write
            await other.execute(
                sa.update(records)
                .where(records.c.external_id == "p1")
                .values(content_hash="0" * 64, data={"given_name": "x"})
            )
        return found

    monkeypatch.setattr(sync_module, "stored_hashes", then_changed_elsewhere)
    log = _PageLog()
    register_plugin(log)
    try:
        [again] = await sync_connection(hub, "mem", streams=["people"], full_refresh=True)
    finally:
        unregister_plugin(log)
    assert again.counters.records_written == 1
    assert await store_snapshot(hub, "mem") == good  # p1 sealed afresh; it opens as before
    assert log.rows == [("person", "p1")]  # the hook sees the record it wrote
    assert ("person", "p2") in log.unchanged and ("person", "p1") not in log.unchanged


async def test_the_page_hook_gets_unchanged_records_by_key_not_sealed(
    hub: Hub, memory: MemorySource
) -> None:
    first = await sync_connection(hub, "mem", streams=["people"])
    log = _PageLog()
    register_plugin(log)
    try:
        await sync_connection(hub, "mem", streams=["people"], full_refresh=True)
    finally:
        unregister_plugin(log)
    assert log.rows == []
    assert len(set(log.unchanged)) == first[0].counters.records_written


async def test_a_page_item_that_is_not_an_object_is_quarantined_not_dropped(
    hub: Hub, memory: MemorySource
) -> None:
    memory.logs["people"] = [
        Change(memory.latest("people")["p0"]),
        Change("not a person"),  # type: ignore[arg-type]
    ]
    result = (await sync_connection(hub, "mem", streams=["people"]))[0]
    assert result.counters.records_read == 2
    assert result.counters.records_written == 1
    assert result.counters.records_quarantined == 1


# -- the quarantine across re-reads -----------------------------------------------------------


async def _quarantined(hub: Hub) -> list[sa.Row[Any]]:
    async with hub.engine.connect() as conn:
        return list(await conn.execute(sa.select(quarantine).order_by(quarantine.c.id)))


async def test_a_full_refresh_keeps_the_quarantine_id_of_each_record_still_invalid(
    hub: Hub, memory: MemorySource
) -> None:
    [first] = await sync_connection(hub, "mem", streams=["cases"])
    before = await _quarantined(hub)
    assert len(before) == first.counters.records_quarantined > 0
    _operator_mapping(hub, version="memory-2")  # a new version that still rejects them

    [again] = await sync_connection(hub, "mem", streams=["cases"], full_refresh=True)
    after = await _quarantined(hub)
    assert again.counters.records_quarantined == len(before)
    assert [(e.id, e.external_id, e.created_at) for e in after] == [
        (e.id, e.external_id, e.created_at) for e in before
    ]
    assert all(e.resolved_at is None for e in after)
    assert {(e.run_id, e.mapping_version) for e in after} == {(again.run_id, "memory-2")}
    assert all(a.last_seen_at > b.last_seen_at for a, b in zip(after, before, strict=True))


async def test_a_changed_record_that_is_still_invalid_updates_its_open_entry(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem", streams=["cases"])
    [entry, *_] = await _quarantined(hub)
    changed = memory.put("cases", {**memory.latest("cases")[entry.external_id], "subject": "v2"})

    [again] = await sync_connection(hub, "mem", streams=["cases"])
    [updated] = [e for e in await _quarantined(hub) if e.external_id == entry.external_id]
    assert (updated.id, updated.run_id, updated.resolved_at) == (entry.id, again.run_id, None)
    row = quarantine_row_key("mem", updated.object_type, updated.external_id)
    payload = open_value(updated.raw, hub.keyring, table=QUARANTINE_TABLE, column="raw", row=row)
    assert payload == changed


async def test_a_record_without_an_external_id_gets_a_new_entry_each_time_it_is_read(
    hub: Hub, memory: MemorySource
) -> None:
    memory.logs["people"] = [Change("not a person")]  # type: ignore[arg-type]
    await sync_connection(hub, "mem", streams=["people"])
    await sync_connection(hub, "mem", streams=["people"], full_refresh=True)
    entries = await _quarantined(hub)
    assert [(e.external_id, e.resolved_at) for e in entries] == [(None, None), (None, None)]


def _operator_mapping(hub: Hub, *, version: str) -> None:
    """An operator's copy of memory.yaml (searched first) under another version."""
    text = (MEMORY_MAPPINGS / "memory.yaml").read_text(encoding="utf-8")
    assert 'version: "memory-1"' in text
    target = hub.settings.resolved_mapping_dirs[0]
    target.mkdir(parents=True, exist_ok=True)
    (target / "memory.yaml").write_text(
        text.replace('version: "memory-1"', f'version: "{version}"'), encoding="utf-8"
    )
    hub._mappings.clear()


# -- failures and the page transaction -------------------------------------------------------


async def test_a_failed_page_commit_leaves_no_read_ahead_task_behind(
    hub: Hub, memory: MemorySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from hub import sync as engine

    async def failing_store(*args: object, **kwargs: object) -> object:
        raise StoreError("disk full (injected)")

    monkeypatch.setattr(engine, "store_page", failing_store)
    memory.page_delay_seconds = 0  # the read-ahead fills its queue while the commit fails
    run = asyncio.create_task(sync_connection(hub, "mem", streams=["cases"], raise_errors=False))
    done, _ = await asyncio.wait({run}, timeout=20)  # liveness: a blocked producer hangs it
    if not done:
        run.cancel()
        pytest.fail("the sync hung after its page commit failed")
    results = run.result()
    assert results[0].status == "failed" and "disk full" in (results[0].error or "")
    left = {t.get_name() for t in asyncio.all_tasks()}
    assert "read-ahead" not in left and "prepare-ahead" not in left


async def test_the_next_page_is_mapped_while_this_one_waits_on_the_database_server(
    hub: Hub, memory: MemorySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    if hub.engine.dialect.name == "sqlite":
        pytest.skip("SQLite works in this process: nothing to map ahead in its waits")
    mapping: list[object] = []  # the pages whose mapping has begun

    class Watched(PagePreparer):
        def add(self, records: Any) -> None:
            if self not in mapping:
                mapping.append(self)
            super().add(records)

    class SlowDatabase:
        """The first page's transaction waits (as on a busy server) until the next page's
        mapping has begun, or gives up after a few seconds."""

        def __init__(self) -> None:
            self.overlapped: list[bool] = []

        @hookimpl
        def hub_page_transaction(self, hub: Hub, conn: AsyncConnection, write: PageWrite) -> object:
            async def wait() -> None:
                if self.overlapped:
                    return
                for _ in range(500):
                    if len(mapping) > 1:
                        break
                    await asyncio.sleep(0.01)
                self.overlapped.append(len(mapping) > 1)

            return wait()

    monkeypatch.setattr(sync_module, "PagePreparer", Watched)
    memory.page_delay_seconds = 0
    database = SlowDatabase()
    register_plugin(database)
    try:
        results = await sync_connection(hub, "mem", streams=["people"])
    finally:
        unregister_plugin(database)
    assert database.overlapped == [True]
    assert results[0].counters.records_written == 40 and len(mapping) == 2


async def test_records_deleted_by_id_alone_become_tombstones(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem", streams=["people"])
    memory.delete("people", "p3")
    results = await sync_connection(hub, "mem", streams=["people"])
    assert results[0].counters.records_deleted == 1
    snapshot = await store_snapshot(hub, "mem")
    assert snapshot[("person", "p3")][1] is True  # deleted
    assert snapshot[("person", "p4")][1] is False


class _PageLog:
    """A plugin writing into the page transaction, as identity links and audit entries will."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[tuple[str, int]] = []
        self.rows: list[tuple[str, str]] = []
        self.unchanged: list[tuple[str, str]] = []

    @hookimpl
    def hub_page_transaction(self, hub: Hub, conn: AsyncConnection, write: PageWrite) -> object:
        async def write_with_page() -> None:
            if self.fail:
                raise StoreError("the plugin's write failed (injected)")
            await conn.execute(sa.text("SELECT 1"))  # it may use the page's connection
            self.seen.append((write.stream, len(write.rows) + len(write.tombstones)))
            self.rows += [(r.object_type, r.external_id) for r in write.rows]
            self.unchanged += write.unchanged

        return write_with_page()


async def test_plugins_write_in_the_page_transaction_and_their_failure_rolls_the_page_back(
    hub: Hub, memory: MemorySource
) -> None:
    log = _PageLog()
    register_plugin(log)
    try:
        await sync_connection(hub, "mem", streams=["people"])
    finally:
        unregister_plugin(log)
    assert [n for _, n in log.seen] == [25, 15]  # 40 people in pages of 25

    failing = _PageLog(fail=True)
    register_plugin(failing)
    try:
        results = await sync_connection(hub, "mem", streams=["cases"], raise_errors=False)
    finally:
        unregister_plugin(failing)
    assert results[0].status == "failed"
    async with hub.engine.connect() as conn:
        cases = await conn.scalar(
            sa.select(sa.func.count()).select_from(records).where(records.c.object_type == "case")
        )
        cursor = await conn.scalar(
            sa.select(stream_state.c.state).where(stream_state.c.stream == "cases")
        )
    assert cases == 0 and cursor is None  # nothing of the failed page committed


def test_a_misspelt_hook_implementation_is_refused_when_it_is_registered() -> None:
    class Typo:
        @hookimpl
        def hub_register_conectors(self) -> list[object]:
            return []

    with pytest.raises(ConfigError, match="hub_register_conectors"):
        register_plugin(Typo())
