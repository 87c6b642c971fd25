"""SQLite's bulk page writes store exactly what SQLAlchemy's own statements would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from hub.config import Settings
from hub.runtime import Hub
from hub.store import sqlite_bulk
from hub.store.schema import records

NOW = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=UTC)
COLUMNS = [c.name for c in records.columns if c.name != "id"]


def _row(external_id: str, **changes: Any) -> dict[str, Any]:
    row = {
        "connection": "zd",
        "object_type": "ticket",
        "external_id": external_id,
        "kind": "case",
        "stream": "tickets",
        "data": {"subject": "v1:AAAA", "tags": ["a", "é"], "n": 1, "x": None},
        "raw": "v1:BBBB",
        "content_hash": "c" * 64,
        "mapping_version": "m1",
        "source_updated_at": NOW - timedelta(days=3, microseconds=1),
        "deleted": False,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return {**row, **changes}


async def _stored(hub: Hub, external_id: str) -> dict[str, tuple[str, Any]]:
    """Each column's SQLite storage class and stored value, as the file holds them."""
    columns = [c for c in COLUMNS if c != "external_id"]
    picks = ", ".join(f"typeof({c}), {c}" for c in columns)
    async with hub.engine.connect() as conn:
        row = (
            await conn.exec_driver_sql(
                f"SELECT {picks} FROM records WHERE external_id = ?",
                (external_id,),
            )
        ).one()
    return dict(zip(columns, zip(row[::2], row[1::2], strict=True), strict=True))


@pytest.fixture
def sqlite_only(hub_settings: Settings) -> None:
    if not hub_settings.database_url.startswith("sqlite"):
        pytest.skip("the SQLite write path")


@pytest.mark.usefixtures("sqlite_only")
async def test_inserts_store_the_same_text_as_sqlalchemy_and_return_the_new_ids(
    hub: Hub,
) -> None:
    async with hub.engine.begin() as conn:
        await conn.execute(sa.insert(records), [_row("by-core")])
        ids = await sqlite_bulk.insert_records(
            conn, "zd", [_row("bulk-1"), _row("bulk-2", source_updated_at=None)]
        )
        stored = await conn.execute(
            sa.select(records.c.object_type, records.c.external_id, records.c.id)
        )
        stored_ids = {(t, e): rid for t, e, rid in stored if e.startswith("bulk")}
    assert ids == stored_ids and len(ids) == 2
    assert await _stored(hub, "bulk-1") == await _stored(hub, "by-core")
    assert (await _stored(hub, "bulk-2"))["source_updated_at"] == ("null", None)


@pytest.mark.usefixtures("sqlite_only")
async def test_updates_store_the_same_text_as_sqlalchemy(hub: Hub) -> None:
    changed = {"data": {"subject": "v1:CCCC"}, "content_hash": "d" * 64, "updated_at": NOW}
    async with hub.engine.begin() as conn:
        ids = await sqlite_bulk.insert_records(conn, "zd", [_row("a"), _row("b")])
        await conn.execute(
            sa.update(records)
            .where(records.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in changed}),
            [{**changed, "_id": ids[("ticket", "a")]}],
        )
        await sqlite_bulk.update_records(conn, [{**changed, "_id": ids[("ticket", "b")]}])
    assert await _stored(hub, "a") == await _stored(hub, "b")
