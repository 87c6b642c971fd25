"""A throw-away hub for a connector package's own tests: a database (a SQLite file, or a fresh
PostgreSQL schema when ``HUB_TEST_DATABASE_URL`` is set), a hub home with a master key, and
the open hub.

Use it as a pytest plugin (``pytest_plugins = ["hub.testing.fixtures"]``) for the fixtures
``hub_database_url``, ``hub_settings`` and ``hub``, or call the functions directly;
:class:`hub.testing.contract.ConnectorContract` brings its own copies and needs neither.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from hub.config import Settings, load_settings, write_default_config
from hub.runtime import Hub
from hub.store.scratch import scratch_schema
from hub.vault import create_master_key

PG_ENV = "HUB_TEST_DATABASE_URL"
DATABASES = ("sqlite", "postgres")


@contextlib.contextmanager
def temporary_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in ``folder``, or (``kind="postgres"``) a
    new schema of the server ``HUB_TEST_DATABASE_URL`` names, dropped afterwards.

    Skips the test when PostgreSQL is asked for and the variable is not set.
    """
    if kind == "sqlite":
        yield f"sqlite:///{folder}/hub.db"
        return
    if kind != "postgres":
        raise ValueError(f"database kind {kind!r}: expected one of {', '.join(DATABASES)}")
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    with scratch_schema(base, "hub_test") as url:
        yield url


def hub_home(folder: Path, database_url: str) -> Settings:
    """A hub home in ``folder``: a hub.toml pointing at ``database_url`` and a master key.

    The settings come from the file alone: ``HUB_MASTER_KEY`` and ``HUB_CONFIG`` must not be
    set in the environment (the fixtures unset them).
    """
    home = folder / "hub"
    home.mkdir()
    write_default_config(home / "hub.toml", {"database_url": database_url})
    create_master_key(home / "secrets" / "master.key")
    return load_settings(home / "hub.toml")


@pytest.fixture(params=DATABASES)
def hub_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database, once on SQLite and once on PostgreSQL (skipped unless
    ``HUB_TEST_DATABASE_URL`` is set)."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    with temporary_database(str(request.param), tmp_path) as url:
        yield url


@pytest.fixture
def hub_settings(
    tmp_path: Path, hub_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """A hub home in ``tmp_path`` on the test database."""
    monkeypatch.delenv("HUB_MASTER_KEY", raising=False)
    monkeypatch.delenv("HUB_CONFIG", raising=False)
    return hub_home(tmp_path, hub_database_url)


@pytest_asyncio.fixture
async def hub(hub_settings: Settings) -> AsyncIterator[Hub]:
    """The open hub (its database created and migrated), closed after the test."""
    async with Hub.open(hub_settings, create=True) as opened:
        yield opened
