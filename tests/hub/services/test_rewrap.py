"""The rewrap job after a rotation: every sealed value is resealed under the new primary
(records, raw payloads, quarantine, secrets, connection config, outbox), the old key retires
at census 0, writes made meanwhile are never reverted, an interrupted job resumes where it
stopped, and search works across an index-key rotation; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from hub.config import Settings
from hub.runtime import Hub
from hub.services.customers import find_customers
from hub.services.keys import key_status, rewrap, rotate_keys, take_census
from hub.services.rewrap import _rewrap_records, run_pass
from hub.services.sealed_tables import BATCH, TARGETS, records_batch
from hub.store.schema import blind_index, connections, data_keys, records
from hub.sync import sync_connection
from hub.testing import MemorySource
from hub.vault import KeyRetired, open_value, token_key_id
from tests.hub.services.vault_stores import PII_CONNECTION, fill_store, unopened_values
from tests.support import store_snapshot


async def test_rewrap_reseals_every_value_under_the_new_key_and_retires_the_old_one(
    hub: Hub, memory: MemorySource
) -> None:
    await fill_store(hub)
    before = await store_snapshot(hub)
    outcome = await rotate_keys(hub, force=True)
    old, new = outcome.retired_primaries["data"], outcome.rotated["data"]
    census = await take_census(hub)
    assert census.tokens[old] > 0 and census.tokens[new] == 0

    result = await rewrap(hub, batch_size=17)

    census = await take_census(hub)
    assert census.tokens[old] == 0 and census.tokens[new] > 0
    assert result.retired == [old] and result.remaining == {}
    assert result.rewrapped == (await take_census(hub)).tokens[new]
    assert await unopened_values(hub) == []
    assert await store_snapshot(hub) == before  # same plaintext, new ciphertext
    states = {k.id: k.state for k in (await key_status(hub)).keys}
    assert states[old] == "retired"
    async with hub.engine.connect() as conn:
        wrapped = await conn.scalar(sa.select(data_keys.c.wrapped).where(data_keys.c.id == old))
    assert not wrapped.startswith("w1:")  # the retired key's material is gone


async def test_a_value_under_a_retired_key_fails_naming_the_key_and_its_place(
    hub: Hub, memory: MemorySource
) -> None:
    await fill_store(hub)
    async with hub.engine.connect() as conn:
        r = (
            await conn.execute(sa.select(connections).where(connections.c.name == PII_CONNECTION))
        ).first()
    assert r is not None
    old_token = r.config["email"]  # a v1 token (customers' values are v2, under their keys)
    await rotate_keys(hub, force=True)
    await rewrap(hub)
    column = "config.email"

    with pytest.raises(KeyRetired) as failure:
        open_value(old_token, hub.keyring, table="connections", column=column, row=r.name)
    message = str(failure.value)
    assert f"data key {token_key_id(old_token)} is retired" in message
    assert f"connections.config.email (row {r.name})" in message
    assert "@" not in message  # never the value


async def test_a_record_written_while_its_batch_is_resealed_keeps_the_newer_write(
    hub: Hub, memory: MemorySource
) -> None:
    await fill_store(hub)
    # The records are customers' (v2 tokens, left as they are): rotate the index key too, so
    # the job has each of them to rehash.
    await rotate_keys(hub, force=True, purposes=("data", "index"))
    async with hub.engine.connect() as conn:
        batch = await records_batch(conn, None, 1000)  # read, as the job reads a batch
    # A sync changes p1 after the job read it and before the job writes.
    memory.put("people", {"id": "p1", "name": "Renamed", "email": "renamed@example.com",
                          "phone": "+14155550111", "tags": [], "deleted": False})  # fmt: skip
    await sync_connection(hub, "mem")
    async with hub.engine.begin() as conn:
        _, rehashed, skipped = await _rewrap_records(conn, hub.keyring, batch)
    assert skipped == 1 and rehashed > 0

    snapshot = await store_snapshot(hub, "mem")
    assert snapshot[("person", "p1")][2]["display_name"] == "Renamed"
    assert snapshot[("person", "p1")][2]["emails"] == ["renamed@example.com"]
    await rewrap(hub)
    assert await unopened_values(hub) == []
    assert (await store_snapshot(hub, "mem"))[("person", "p1")] == snapshot[("person", "p1")]


async def test_an_interrupted_rewrap_resumes_after_its_last_committed_batch(
    hub: Hub, memory: MemorySource
) -> None:
    await fill_store(hub)
    await rotate_keys(hub, force=True)
    full = await _batches_of_a_full_run(hub)

    class Stop(Exception):
        pass

    seen = 0

    def stop_after_three(table: str, done: int, total: int) -> None:
        nonlocal seen
        seen += 1
        if seen == 3:
            raise Stop

    with pytest.raises(Stop):
        await rewrap(hub, batch_size=10, progress=stop_after_three)
    assert await unopened_values(hub) == []  # half done is readable
    resumed = await rewrap(hub, batch_size=10)
    assert resumed.batches == full - 3 and resumed.remaining == {}
    assert await unopened_values(hub) == []


async def _batches_of_a_full_run(hub: Hub) -> int:
    """How many batches of 10 a whole pass takes on this store (counted, not written)."""
    batches = 0
    async with hub.engine.connect() as conn:
        for target in TARGETS:
            after = None
            while True:
                rows = await BATCH[target](conn, after, 10)
                batches += 1
                if len(rows) < 10:
                    break
                after = str(rows[-1].name if target in ("secrets", "connections") else rows[-1].id)
    return batches


async def test_search_finds_the_same_customers_before_during_and_after_an_index_rotation(
    hub: Hub, memory: MemorySource
) -> None:
    await fill_store(hub)
    email, phone = "person3@example.com", "+14155550003"
    expected = [r["id"] for r in await find_customers(hub, email=email, phone=None)]
    by_phone = [r["id"] for r in await find_customers(hub, email=None, phone=phone)]
    assert expected and by_phone

    outcome = await rotate_keys(hub, force=True, purposes=("data", "index"))
    old_index = outcome.retired_primaries["index"]

    async def found() -> tuple[list[int], list[int]]:
        return (
            [r["id"] for r in await find_customers(hub, email=email, phone=None)],
            [r["id"] for r in await find_customers(hub, email=None, phone=phone)],
        )

    assert await found() == (expected, by_phone)  # only old index rows yet

    class Stop(Exception):
        pass

    def stop_in_records(table: str, done: int, total: int) -> None:
        if table == "records" and done >= 5:
            raise Stop

    with pytest.raises(Stop):
        await rewrap(hub, batch_size=5, progress=stop_in_records)
    async with hub.engine.connect() as conn:
        keys = set((await conn.execute(sa.select(blind_index.c.key_id).distinct())).scalars())
    assert len(keys) == 2  # the window: rows under the old and the new index key
    assert await found() == (expected, by_phone)

    result = await rewrap(hub)
    assert old_index in result.retired
    assert await found() == (expected, by_phone)
    assert (await take_census(hub)).of(old_index) == 0
    assert await unopened_values(hub) == []


async def test_a_sync_running_through_a_rotation_in_another_process_ends_under_the_new_key(
    hub: Hub, hub_settings: Settings, memory_plugin: None
) -> None:
    from hub.services.sandboxes import connect_sandbox

    generate = {"people": 30, "cases": 60, "seed": 5, "page_delay_seconds": 0.05}
    await connect_sandbox(hub, "slow", "memory", {"generate": generate, "page_size": 5})
    syncing = asyncio.create_task(sync_connection(hub, "slow"))
    async with Hub.open(hub_settings) as other:  # another process's hub
        for _ in range(500):  # until the first pages are in
            if await _records_of(other, "slow"):
                break
            await asyncio.sleep(0.02)
        rotation = await rotate_keys(other, force=True, purposes=("data", "index"))
        assert 0 < await _records_of(other, "slow") < 80  # the rotation lands mid-sync
        results = await syncing
        assert all(r.error is None for r in results)
        # The syncing hub noticed the rotation: its later pages are under the new keys.
        census = await take_census(other)
        assert census.tokens[rotation.rotated["data"]] > 0
        assert census.hashes[rotation.rotated["index"]] > 0
        outcome = await rewrap(other, batch_size=20)
        assert outcome.remaining == {}
        assert set(outcome.retired) == set(rotation.retired_primaries.values())
        assert await unopened_values(other) == []
    assert await unopened_values(await _reloaded(hub)) == []


async def _records_of(hub: Hub, connection: str) -> int:
    async with hub.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(records.c.connection == connection)
        return int(await conn.scalar(query.select_from(records)) or 0)


async def _reloaded(hub: Hub) -> Hub:
    await hub.reload_keyring()
    return hub


async def test_a_rewrap_carries_on_when_another_process_rotates_again_meanwhile(
    hub: Hub, hub_settings: Settings, memory: MemorySource
) -> None:
    await fill_store(hub)
    first = await rotate_keys(hub, force=True)
    async with Hub.open(hub_settings) as other:
        second = await rotate_keys(other, force=True)  # this hub's keyring is now stale
    assert (await run_pass(hub, batch_size=50)).finished

    outcome = await rewrap(hub)

    old = {first.retired_primaries["data"], second.retired_primaries["data"]}
    assert outcome.remaining == {} and set(outcome.retired) == old
    assert await unopened_values(hub) == []


async def test_every_sealed_value_in_the_store_is_in_a_place_the_rewrap_walks(
    hub: Hub, memory: MemorySource
) -> None:
    """A table or column that holds tokens and is not walked would keep its old key's values
    out of the census, and retiring that key would make them unreadable: any new sealed
    column must be added to hub.services.sealed_tables."""
    from hub.services.sealed_tables import TABLE
    from hub.store.schema import metadata

    await fill_store(hub)
    walked = {(TABLE[t].name, c) for t, cols in _WALKED.items() for c in cols}
    found: set[tuple[str, str]] = set()
    async with hub.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(sa.select(table)):
                for column, value in row._mapping.items():
                    if _holds_token(value):
                        found.add((table.name, column))
    assert found and found <= walked, found - walked


_WALKED = {
    "subject_keys": ("wrapped",),
    "secrets": ("sealed",),
    "connections": ("config",),
    "outbox": ("message",),
    "quarantine": ("raw",),
    "records": ("data", "raw"),
}


def _holds_token(value: object) -> bool:
    if isinstance(value, str):
        return value.startswith(("v1:", "v2:"))  # v2: in records and quarantine only
    if isinstance(value, dict):
        return any(_holds_token(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_token(v) for v in value)
    return False
