"""The hub's database engine."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.runtime import Hub
from hub.store.schema import records


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
