"""`hub check` against a tampered copy of a real store: every damaged value is reported by
table, row and reason, and nothing that was fine is reported or changed."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from hub.config import Settings
from hub.errors import VaultError
from hub.runtime import Hub
from hub.services.check import CheckFailure, CheckReport, check_store
from hub.services.customers import find_customers
from hub.services.sandboxes import connect_sandbox
from hub.services.secrets import set_secret
from hub.store.schema import blind_index, connections, data_keys, quarantine, records, secrets
from hub.sync import sync_connection
from hub.testing import MemorySource, register_source


@pytest.fixture
async def synced(hub: Hub, memory_plugin: None) -> Hub:
    """A store with records, index rows, quarantine entries, secrets and a connection whose
    personal config field is sealed."""
    name = f"src-{uuid.uuid4().hex[:8]}"
    source = register_source(name, MemorySource.generated(people=12, cases=30))
    source.token = "memory-token"
    config = {"source": name, "page_size": 10, "token": source.token, "email": "agent@acme.test"}
    await connect_sandbox(hub, "mem", "memory", config)
    await set_secret(hub, "spare", "made-up-value")
    results = await sync_connection(hub, "mem")
    assert {r.status for r in results} == {"succeeded"}
    return hub


async def _ids(hub: Hub, *external_ids: str) -> list[int]:
    async with hub.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(records.c.external_id, records.c.id).where(
                records.c.object_type == "person", records.c.external_id.in_(external_ids)
            )
        )
        found = {e: i for e, i in rows}
    return [found[e] for e in external_ids]


def _by_table(report: CheckReport) -> dict[str, list[CheckFailure]]:
    found: dict[str, list[CheckFailure]] = {}
    for failure in report.failures:
        found.setdefault(failure.table, []).append(failure)
    return found


async def test_a_sound_store_passes_every_check_and_counts_what_it_read(synced: Hub) -> None:
    seen: list[tuple[str, int, int]] = []

    async with synced.engine.connect() as conn:
        stored = await conn.scalar(sa.select(sa.func.count()).select_from(records))
    assert stored is not None and stored > 14

    report = await check_store(synced, batch=7, progress=lambda *a: seen.append(a))

    assert report.failures == []
    assert report.ok
    assert report.checked["records"] == stored and report.checked["quarantine"] > 0
    assert report.checked["secrets"] == 2 and report.checked["connections"] == 1
    assert report.checked["data_keys"] == 3  # data, index and subject
    assert ("records", 7, stored) in seen and ("records", 14, stored) in seen  # by batch
    assert seen[-1][0] == "quarantine" and seen[-1][1] == seen[-1][2]


async def test_each_tampered_value_is_reported_by_table_row_and_reason(synced: Hub) -> None:
    p1, p2, p3, p4 = await _ids(synced, "p1", "p2", "p3", "p4")
    async with synced.engine.begin() as conn:
        raw_of_p2 = await conn.scalar(sa.select(records.c.raw).where(records.c.id == p2))
        await conn.execute(records.update().where(records.c.id == p1).values(raw=raw_of_p2))
        data = dict(await conn.scalar(sa.select(records.c.data).where(records.c.id == p3)))
        data["tags"] = ["vip"]  # a clear field: only the content hash can tell
        await conn.execute(records.update().where(records.c.id == p3).values(data=data))
        await conn.execute(
            blind_index.update().where(blind_index.c.record_id == p4).values(record_id=p2)
        )
        entry = await conn.scalar(sa.select(sa.func.min(quarantine.c.id)))
        await conn.execute(quarantine.update().where(quarantine.c.id == entry).values(raw="v1:AA"))
        await conn.execute(secrets.update().where(secrets.c.name == "spare").values(sealed="x"))
        config = dict(await conn.scalar(sa.select(connections.c.config)))
        config["email"] = raw_of_p2
        await conn.execute(connections.update().values(config=config))
    before = await store_snapshot_safe(synced)

    report = await check_store(synced)

    found = _by_table(report)
    assert [(f.row, f.column) for f in found["records"]] == [
        (f"{p1} (mem/person/p1)", "raw"),
        (f"{p3} (mem/person/p3)", "content_hash"),
    ]
    assert "records.raw" in found["records"][0].reason
    moved = [(f.row, f.column, f.reason.split(" (")[0]) for f in found["blind_index"]]
    unmatched, missing = "matches no value of its record", "missing: the record has a value"
    assert sorted((row, column, reason[: len(missing)]) for row, column, reason in moved) == [
        (f"record {p2} (mem/person/p2)", "email (key 2)", unmatched[: len(missing)]),
        (f"record {p2} (mem/person/p2)", "phone (key 2)", unmatched[: len(missing)]),
        (f"record {p4} (mem/person/p4)", "email", missing),
        (f"record {p4} (mem/person/p4)", "phone", missing),
    ]
    assert [(f.row, f.column) for f in found["quarantine"]] == [(str(entry), "raw")]
    assert [(f.row, f.column) for f in found["secrets"]] == [("spare", "sealed")]
    assert [(f.row, f.column) for f in found["connections"]] == [("mem", "config")]
    assert set(found) == {"records", "blind_index", "quarantine", "secrets", "connections"}
    assert await store_snapshot_safe(synced) == before  # a check writes nothing


async def store_snapshot_safe(hub: Hub) -> list[tuple[object, ...]]:
    """Every row of the tables a check reads, as stored (sealed)."""
    rows: list[tuple[object, ...]] = []
    async with hub.engine.connect() as conn:
        for table in (records, blind_index, quarantine, secrets, connections, data_keys):
            query = sa.select(table).order_by(*table.primary_key.columns)
            rows += [tuple(r) for r in await conn.execute(query)]
    return rows


async def test_a_damaged_data_key_is_reported_and_the_rest_still_checked(
    synced: Hub, hub_settings: Settings
) -> None:
    async with synced.engine.begin() as conn:
        good = await conn.scalar(sa.select(data_keys.c.wrapped).where(data_keys.c.id == 1))
        await conn.execute(data_keys.update().where(data_keys.c.id == 2).values(wrapped=good))
    with pytest.raises(VaultError, match=r"damaged data keys: 2 \(table data_keys\)"):
        async with Hub.open(hub_settings):
            pass

    async with Hub.open(hub_settings, allow_damaged_keys=True) as opened:
        report = await check_store(opened)

    found = _by_table(report)
    assert [(f.row, f.column) for f in found["data_keys"]] == [("2", "wrapped")]
    assert "changed or swapped" in found["data_keys"][0].reason
    assert report.checked["records"] > 14
    assert not found.get("secrets") and not found.get("quarantine")  # data key 1 still opens


async def test_a_full_refresh_rewrites_the_damaged_records_and_leaves_the_sound_ones(
    synced: Hub,
) -> None:
    p1, p2, p3, p4 = await _ids(synced, "p1", "p2", "p3", "p4")
    async with synced.engine.begin() as conn:
        raw_of_p2 = await conn.scalar(sa.select(records.c.raw).where(records.c.id == p2))
        await conn.execute(records.update().where(records.c.id == p1).values(raw=raw_of_p2))
        data = dict(await conn.scalar(sa.select(records.c.data).where(records.c.id == p3)))
        data["emails"] = "v1:AAAA"
        await conn.execute(records.update().where(records.c.id == p3).values(data=data))
        await conn.execute(
            blind_index.update().where(blind_index.c.record_id == p4).values(record_id=p2)
        )
        stamps = dict((await conn.execute(sa.select(records.c.id, records.c.updated_at))).all())
    damaged = {p1, p2, p3, p4}

    [incremental] = await sync_connection(synced, "mem", streams=["people"])
    assert incremental.counters.records_written == 0  # an equal hash keeps the damage
    assert not (await check_store(synced)).ok

    [refreshed] = await sync_connection(synced, "mem", streams=["people"], full_refresh=True)

    assert refreshed.counters.records_written == len(damaged)
    assert (await check_store(synced)).failures == []
    async with synced.engine.connect() as conn:
        after = dict((await conn.execute(sa.select(records.c.id, records.c.updated_at))).all())
    assert {i for i in after if after[i] != stamps[i]} == damaged
    assert [
        r["external_id"]
        for r in await find_customers(synced, email="person4@example.com", phone=None)
    ] == ["p4"]
