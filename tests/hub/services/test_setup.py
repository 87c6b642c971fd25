"""Creating a hub: only `initialise` (``hub init``) makes a database or a master key, and it
never makes a key that could not open the data keys a database already holds."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub.config import Settings, load_settings, write_default_config
from hub.errors import StoreError, VaultError
from hub.runtime import Hub
from hub.services.check import check_store
from hub.services.secrets import list_secrets, set_secret
from hub.services.setup import initialise
from hub.store.engine import MIGRATIONS, display_url


@pytest.fixture(autouse=True)
def _no_hub_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HUB_MASTER_KEY", "HUB_CONFIG", "HUB_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def _sync_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _revision(url: str) -> str | None:
    engine = sa.create_engine(_sync_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


async def test_initialise_writes_hub_database_url_into_the_new_hub_toml(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    done = await initialise(tmp_path / "hub")
    monkeypatch.delenv("HUB_DATABASE_URL")

    settings = load_settings(tmp_path / "hub" / "hub.toml")
    assert settings.database_url == database_url
    assert done[-1] == f"database ready at {display_url(database_url)}"
    async with Hub.open(settings) as hub:  # the next command finds the same database
        await set_secret(hub, "token", "made-up-value")
    if not database_url.startswith("sqlite"):
        assert not (tmp_path / "hub" / "data").exists()  # no stray SQLite folder beside it


async def test_initialise_prints_the_absolute_database_path_and_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = await initialise(Path("hub"))
    assert f"wrote {tmp_path / 'hub' / 'hub.toml'}" in done
    assert done[-1] == f"database ready at {tmp_path / 'hub' / 'data' / 'hub.db'}"


def test_a_database_url_is_shown_without_its_password() -> None:
    shown = display_url("postgresql://hub:s3cret-pass@db.internal:5432/hub?sslmode=require")
    assert shown == "postgresql://hub@db.internal:5432/hub?sslmode=require"
    assert display_url("postgresql://db.internal/hub") == "postgresql://db.internal/hub"


async def test_initialise_refuses_a_new_master_key_for_a_database_holding_data_keys(
    tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "hub"
    home.mkdir()
    write_default_config(home / "hub.toml", {"database_url": database_url})
    await initialise(home)
    key_file = home / "secrets" / "master.key"
    key = key_file.read_bytes()
    key_file.unlink()

    with pytest.raises(VaultError) as caught:
        await initialise(home)

    message = str(caught.value)
    assert "already holds data keys" in message and str(key_file) in message
    assert "HUB_MASTER_KEY" in message and "restore the original key from backup" in message
    assert not key_file.exists()
    key_file.write_bytes(key)  # the original key, restored, opens the hub again
    key_file.chmod(0o600)
    async with Hub.open(load_settings(home / "hub.toml")) as hub:
        assert await list_secrets(hub) == []


async def test_opening_a_missing_sqlite_file_is_refused_and_creates_nothing(
    hub_settings: Settings,
) -> None:
    settings = hub_settings.model_copy(update={"database_url": "sqlite:///no/such/dir/hub.db"})
    with pytest.raises(StoreError) as caught:
        async with Hub.open(settings):
            pass
    message = str(caught.value)
    assert str(hub_settings.home / "no" / "such" / "dir" / "hub.db") in message
    assert "hub init" in message
    assert not (hub_settings.home / "no").exists()


async def test_opening_a_database_never_initialised_is_refused_and_changes_nothing(
    hub_settings: Settings,
) -> None:
    url = hub_settings.resolved_database_url
    if url.startswith("sqlite"):
        # Someone else's SQLite file: it must not even be switched to WAL.
        with sqlite3.connect(url.removeprefix("sqlite:///")) as foreign:
            foreign.execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(StoreError) as caught:
        async with Hub.open(hub_settings):
            pass
    message = str(caught.value)
    assert display_url(url) in message and "never been initialised" in message
    assert "hub init" in message
    assert _revision(url) is None
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as foreign:
            assert foreign.execute("PRAGMA journal_mode").fetchone() == ("delete",)


async def test_an_initialised_database_at_an_older_migration_is_migrated_on_open(
    hub_settings: Settings,
) -> None:
    url = hub_settings.resolved_database_url
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = sa.create_engine(_sync_url(url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    engine.dispose()

    async with Hub.open(hub_settings) as hub:
        await set_secret(hub, "token", "made-up-value")
    assert _revision(url) == ScriptDirectory.from_config(cfg).get_current_head()


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask most shells have (022): new files 0644 and folders 0755 unless made private."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _database_files(data: Path) -> dict[str, int]:
    return {p.name: _mode(p) for p in sorted(data.iterdir()) if p.name.startswith("hub.db")}


@pytest.mark.usefixtures("loose_umask")
async def test_init_makes_the_data_folder_0700_and_the_database_files_0600(
    tmp_path: Path,
) -> None:
    await initialise(tmp_path / "hub")
    settings = load_settings(tmp_path / "hub" / "hub.toml")
    async with Hub.open(settings) as hub:
        await set_secret(hub, "token", "made-up-value")  # a write: -wal and -shm exist now
        data = tmp_path / "hub" / "data"
        assert _mode(data) == 0o700
        files = _database_files(data)
        assert {"hub.db", "hub.db-wal", "hub.db-shm"} <= set(files)
        assert set(files.values()) == {0o600}, files


@pytest.mark.usefixtures("loose_umask")
async def test_every_open_makes_world_readable_database_files_0600_again(
    tmp_path: Path,
) -> None:
    await initialise(tmp_path / "hub")
    settings = load_settings(tmp_path / "hub" / "hub.toml")
    data = tmp_path / "hub" / "data"
    async with Hub.open(settings) as hub:
        await set_secret(hub, "token", "made-up-value")
        for name in _database_files(data):  # as an older hub left them
            os.chmod(data / name, 0o644)
    async with Hub.open(settings) as hub:
        assert [name for name, _ in await list_secrets(hub)] == ["token"]  # data intact
        await set_secret(hub, "other", "made-up-value")
        assert set(_database_files(data).values()) == {0o600}


@pytest.mark.usefixtures("loose_umask")
async def test_an_open_hub_warns_about_loose_modes_and_check_reports_a_shared_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await initialise(tmp_path / "hub")
    settings = load_settings(tmp_path / "hub" / "hub.toml")
    data = (tmp_path / "hub" / "data").resolve()
    os.chmod(data, 0o755)  # as an older hub, or a user, left them
    os.chmod(data / "hub.db", 0o644)

    with caplog.at_level(logging.WARNING, logger="hub.store"):
        async with Hub.open(settings) as hub:
            report = await check_store(hub)

    assert caplog.messages == [
        f"the data folder {data} is mode 0755, open to other users; run `chmod 700 {data}`",
        f"the database file {data / 'hub.db'} was mode 0644, open to other users; made it 0600",
    ]
    assert _mode(data / "hub.db") == 0o600
    assert _mode(data) == 0o755  # a folder may be shared on purpose: the fix is the user's
    assert [(f.table, f.row, f.column) for f in report.failures] == [("files", str(data), "mode")]
    assert f"run `chmod 700 {data}`" in report.failures[0].reason

    os.chmod(data, 0o700)
    async with Hub.open(settings) as hub:
        assert (await check_store(hub)).ok
