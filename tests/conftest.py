"""Shared fixtures: a database per test (SQLite file, and PostgreSQL when configured),
a ready hub home, and sandboxes on loopback ports."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import hypothesis
import pytest

from hub.config import Settings, load_settings, write_default_config
from hub.runtime import Hub
from hub.store.scratch import scratch_schema
from hub.testing import MemorySource, register_source
from hub.vault import create_master_key

PG_ENV = "HUB_TEST_DATABASE_URL"

# Property tests check behaviour, not speed: no per-example deadline on a busy 2-core CI box.
# The default run draws the same examples every time (a gate must not fail by luck); the
# thorough profile explores afresh: `HUB_HYPOTHESIS_PROFILE=thorough python -m pytest -k ...`.
hypothesis.settings.register_profile("hub", deadline=None, print_blob=True, derandomize=True)
hypothesis.settings.register_profile(
    "thorough", deadline=None, print_blob=True, derandomize=False, max_examples=5000
)
hypothesis.settings.load_profile(os.environ.get("HUB_HYPOTHESIS_PROFILE", "hub"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL schema dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hub.db"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    request.applymarker(pytest.mark.postgres)
    with scratch_schema(base, "hub_test") as url:
        yield url


@pytest.fixture
def hub_settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A hub home in tmp_path: hub.toml pointing at the test database, a master key."""
    monkeypatch.delenv("HUB_MASTER_KEY", raising=False)
    monkeypatch.delenv("HUB_CONFIG", raising=False)
    home = tmp_path / "hub"
    home.mkdir()
    write_default_config(home / "hub.toml", {"database_url": database_url})
    create_master_key(home / "secrets" / "master.key")
    return load_settings(home / "hub.toml")


@pytest.fixture
async def hub(hub_settings: Settings) -> AsyncIterator[Hub]:
    async with Hub.open(hub_settings, create=True) as opened:
        yield opened


@pytest.fixture
def restore_root_logging() -> Iterator[None]:
    """Tests that configure logging leave the root logger as they found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# -- the memory connector (engine tests that are about the hub, not a vendor) ----------------


@pytest.fixture
def memory_plugin() -> Iterator[None]:
    """The memory connector registered with the plugin manager for this test."""
    from hub.plugins import register_plugin, unregister_plugin
    from hub.testing import memory

    register_plugin(memory, name="hub-testing-memory")
    yield
    unregister_plugin(memory)


@pytest.fixture
async def memory(hub: Hub, memory_plugin: None) -> MemorySource:
    """A generated memory source (40 people, 120 cases, pages of 25) behind connection "mem"."""
    from hub.services.sandboxes import connect_sandbox

    name = f"src-{uuid.uuid4().hex[:8]}"
    source = register_source(name, MemorySource.generated(people=40, cases=120))
    source.token = "memory-token"
    config = {"source": name, "page_size": 25, "token": source.token}
    await connect_sandbox(hub, "mem", "memory", config)
    return source
