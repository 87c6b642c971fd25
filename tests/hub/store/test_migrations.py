"""The Alembic migrations build exactly the tables the code declares."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hub.runtime import Hub
from hub.store.schema import metadata, quarantine


def _differences(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, metadata) if "alembic_version" not in str(d)]


async def test_migrated_database_matches_the_declared_schema(hub: Hub) -> None:
    async with hub.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []


def test_upgrading_keeps_quarantine_entries_and_dates_their_last_sighting(
    database_url: str,
) -> None:
    from alembic import command

    from hub.store.engine import _alembic_config

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    seen = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0002")
            conn.execute(
                sa.text(
                    "INSERT INTO quarantine (connection, stream, object_type, external_id, raw,"
                    " error, mapping_version, created_at) VALUES ('c', 's', 'case', 'x1', 'sealed',"
                    " 'status: unknown value', 'v1', :seen)"
                ),
                {"seen": seen},
            )
            command.upgrade(_alembic_config(conn), "head")
            [entry] = conn.execute(sa.select(quarantine)).all()
    finally:
        engine.dispose()
    assert (entry.external_id, entry.created_at, entry.last_seen_at) == ("x1", seen, seen)
