"""The hub's database engine."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from hub.runtime import Hub
from hub.store.schema import records, stream_leases


async def test_postgresql_plans_a_statement_run_many_times_for_its_own_parameters(
    hub: Hub,
) -> None:
    """No server-side prepared statement: a prepared lookup by key list gets a plan made once
    for any keys, which took a sync page's lookups from 1-2 ms to 22-31 ms each."""
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    query = sa.select(records.c.id).where(
        records.c.connection == "zd", records.c.external_id.in_([str(i) for i in range(50)])
    )
    async with hub.engine.connect() as conn:
        for _ in range(10):
            await conn.execute(query)
        prepared = await conn.scalar(sa.text("SELECT count(*) FROM pg_prepared_statements"))
    assert prepared == 0


async def test_a_connection_thrown_away_mid_transaction_frees_the_sqlite_write_lock(
    hub: Hub,
) -> None:
    """A task cancelled during a statement (`hub run`'s second signal) has SQLAlchemy throw
    its connection away with a cursor still open. Its write lock must go with it: before, the
    run's own clean-up and the scheduler waited out the busy timeout and the node exited 1."""
    if hub.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    conn = await hub.engine.connect()
    await conn.execute(sa.delete(stream_leases))  # the write lock is this connection's now
    raw = await conn.get_raw_connection()
    cursor = await raw.driver_connection.execute("SELECT 1 UNION ALL SELECT 2")
    await cursor.fetchone()  # unfinished
    await conn.invalidate()
    await conn.close()

    async with hub.engine.begin() as other:
        await other.exec_driver_sql("PRAGMA busy_timeout=200")
        await other.execute(sa.delete(stream_leases))
    assert cursor is not None  # held until here, as a cancelled task's traceback holds it


async def test_closing_a_sqlite_connection_whose_thread_was_stopped_returns(hub: Hub) -> None:
    """SQLAlchemy stops the thread of a connection it throws away when the closing task is
    cancelled again; aiosqlite's close() under way then stopped it a second time and waited
    forever, and `hub run` never exited."""
    if hub.engine.dialect.name != "sqlite":
        pytest.skip("aiosqlite's worker thread")
    async with hub.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        closing = asyncio.ensure_future(driver.close())
        await asyncio.sleep(0)  # close() has queued its work for the thread
        stopped = driver.stop()
        await asyncio.wait_for(closing, timeout=10)
        if stopped is not None:
            await stopped  # the thread has ended
        await conn.invalidate()
