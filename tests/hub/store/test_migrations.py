"""The Alembic migrations build exactly the tables the code declares."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hub.runtime import Hub
from hub.store.schema import metadata


def _differences(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, metadata) if "alembic_version" not in str(d)]


async def test_migrated_database_matches_the_declared_schema(hub: Hub) -> None:
    async with hub.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
