"""Finding customers: a lookup returns only records whose own sealed value is the one asked
for, whatever was done to the blind-index rows."""

from __future__ import annotations

import sqlalchemy as sa

from hub.runtime import Hub
from hub.services.customers import find_customers
from hub.store.schema import blind_index, records
from hub.sync import sync_connection
from hub.testing import MemorySource


async def _person_ids(hub: Hub, *external_ids: str) -> list[int]:
    async with hub.engine.connect() as conn:
        found = dict(
            (
                await conn.execute(
                    sa.select(records.c.external_id, records.c.id).where(
                        records.c.object_type == "person",
                        records.c.external_id.in_(external_ids),
                    )
                )
            ).all()
        )
    return [found[e] for e in external_ids]


async def test_finds_a_person_by_email_written_another_way(hub: Hub, memory: MemorySource) -> None:
    await sync_connection(hub, "mem", streams=["people"])
    [p2] = await _person_ids(hub, "p2")

    found = await find_customers(hub, email="  PERSON2@Example.com ", phone=None)

    assert [(r["id"], r["external_id"]) for r in found] == [(p2, "p2")]
    assert "data" not in found[0]  # sealed values stay inside the service


async def test_an_index_row_moved_to_another_record_never_returns_that_record(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem", streams=["people"])
    p2, p3 = await _person_ids(hub, "p2", "p3")
    async with hub.engine.begin() as conn:
        await conn.execute(
            blind_index.update().where(blind_index.c.record_id == p2).values(record_id=p3)
        )

    assert await find_customers(hub, email="person2@example.com", phone=None) == []
    # The record the rows were moved to is still found by its own email and phone.
    assert [
        r["id"] for r in await find_customers(hub, email="person3@example.com", phone=None)
    ] == [p3]
    by_phone = await find_customers(hub, email=None, phone="+1 415 555 0003")
    assert [r["id"] for r in by_phone] == [p3]


async def test_a_candidate_whose_sealed_value_does_not_open_is_left_out(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem", streams=["people"])
    p2, p3 = await _person_ids(hub, "p2", "p3")
    async with hub.engine.begin() as conn:
        stolen = await conn.scalar(sa.select(records.c.data).where(records.c.id == p3))
        data = dict(await conn.scalar(sa.select(records.c.data).where(records.c.id == p2)))
        data["emails"] = stolen["emails"]  # p3's token pasted into p2: bound to p3's row
        await conn.execute(records.update().where(records.c.id == p2).values(data=data))

    assert [
        r["id"] for r in await find_customers(hub, email="person3@example.com", phone=None)
    ] == [p3]
    assert await find_customers(hub, email="person2@example.com", phone=None) == []
