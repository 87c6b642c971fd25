"""Fixtures of the vault tests: fixed test-only keys, and real databases for the keyring.

Every store test runs on a SQLite file, and on PostgreSQL too when HUB_TEST_DATABASE_URL is
set (each test gets a fresh schema, dropped afterwards).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.store.schema import metadata
from hub.vault import DataKey, Keyring

# TEST-ONLY key material: fixed so failures reproduce; never use it outside these tests.
TEST_ONLY_MASTER_KEY = bytes(range(32))
TEST_ONLY_DATA_KEY = DataKey(id=1, purpose="data", material=b"\x11" * 32)
TEST_ONLY_INDEX_KEY = DataKey(id=2, purpose="index", material=b"\x22" * 32)


@pytest.fixture
def master_key() -> bytes:
    return TEST_ONLY_MASTER_KEY


@pytest.fixture
def data_key() -> DataKey:
    return TEST_ONLY_DATA_KEY


@pytest.fixture
def index_key() -> DataKey:
    return TEST_ONLY_INDEX_KEY


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([TEST_ONLY_DATA_KEY, TEST_ONLY_INDEX_KEY])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a database holding the hub's tables, empty."""
    if request.param == "sqlite":
        sqlite_engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
        async with sqlite_engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield sqlite_engine
        await sqlite_engine.dispose()
        return
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if not url:
        pytest.skip("set HUB_TEST_DATABASE_URL to run the PostgreSQL variant")
    async for pg_engine in _postgres_engine(url):
        yield pg_engine


async def _postgres_engine(url: str) -> AsyncIterator[AsyncEngine]:
    schema = f"vault_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    scoped = create_async_engine(url, connect_args={"options": f"-c search_path={schema}"})
    try:
        async with scoped.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield scoped
    finally:
        await scoped.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
