"""Opening the database: URL normalisation, SQLite pragmas, migrations on start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
# SQLite waits this long for a lock held by another writer (scheduler, second CLI) before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def async_url(url: str) -> str:
    """Map a plain database URL to the async driver the hub uses."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+psycopg://"),
        ("postgres://", "postgresql+psycopg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (API, CLI) work while a sync writes; the busy timeout makes a second
    # writer wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url`` (sqlite:///file.db or postgresql://...)."""
    full = async_url(url)
    if full.startswith("sqlite+aiosqlite:///"):
        file = Path(full[len("sqlite+aiosqlite:///") :])
        file.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_async_engine(full, pool_pre_ping=not full.startswith("sqlite"))
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(
            f"cannot use database URL scheme of {url.split(':', 1)[0]!r}: {exc}"
        ) from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    return engine


def _alembic_config(connection: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several nodes may start at once; one migrates, the others wait and find it done.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(727274)"))
    command.upgrade(_alembic_config(connection), "head")


def _is_current(connection: sa.Connection) -> bool:
    head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
    return MigrationContext.configure(connection).get_current_revision() == head


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (a no-op when it is there already)."""
    try:
        async with engine.connect() as conn:
            if await conn.run_sync(_is_current):
                return
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot reach the database: {exc.orig}") from None


async def open_engine(url: str, *, migrate_schema: bool = True) -> AsyncEngine:
    """Create the engine and, by default, apply pending migrations."""
    engine = create_engine(url)
    if migrate_schema:
        await migrate(engine)
    return engine
