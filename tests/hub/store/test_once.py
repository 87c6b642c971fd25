"""Rows written once per key stay one row when two writers race for the same key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hub.config import Settings
from hub.runtime import Hub
from hub.services.outbox import list_entries
from hub.store.outbox import insert_entry


async def test_of_two_writers_racing_for_one_outbox_key_the_first_to_commit_wins(
    hub: Hub, hub_settings: Settings
) -> None:
    if not hub_settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite lets one writer at a time: the second reads the first's row")
    now = datetime.now(UTC)
    async with hub.engine.connect() as first, hub.engine.connect() as second:
        await first.begin()
        await second.begin()
        mine, written = await insert_entry(first, connection="tw", key="k", sealed="a", now=now)
        racing = asyncio.create_task(
            insert_entry(second, connection="tw", key="k", sealed="b", now=now)
        )
        await asyncio.sleep(0.3)
        assert not racing.done()  # held by the unique index until the first commits
        await first.commit()
        theirs, also_written = await racing
        await second.commit()  # its transaction is still usable: the savepoint took the error
    assert (written, also_written) == (True, False) and theirs == mine
    assert [e["id"] for e in await list_entries(hub)] == [mine]
