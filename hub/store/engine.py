"""Opening the database: URL normalisation, SQLite pragmas, migrations on start.

Only ``hub init`` creates a database (``open_engine(url, create=True)``). Every other command
opens an existing, initialised one, so a mistyped path or URL is an error naming it rather
than a new, empty hub; an initialised database at an older migration is brought up to date.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.errors import StoreError
from hub.store import json_columns
from hub.store.file_modes import (
    PRIVATE_FILE_MODE,
    PRIVATE_FOLDER_MODE,
    SQLITE_COMPANIONS,
    warn_about_loose_paths,
)
from hub.store.sqlite_driver import sqlite_connector

MIGRATIONS = Path(__file__).parent / "migrations"
# SQLite waits this long for a lock held by another writer (scheduler, second CLI) before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_PREFIX = "sqlite:///"


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


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names (None for other databases and in-memory SQLite)."""
    if not url.startswith(SQLITE_PREFIX):
        return None
    path = url[len(SQLITE_PREFIX) :].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def display_url(url: str) -> str:
    """Where the database is, safe to print: a SQLite file's absolute path, or the URL
    without its password."""
    file = sqlite_file(url)
    if file is not None:
        return str(file.resolve())
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def _not_a_hub(url: str) -> StoreError:
    return StoreError(
        f"the database at {display_url(url)} has never been initialised as a hub; "
        "run `hub init` to set it up there, or correct database_url"
    )


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (API, CLI) work while a sync writes; the busy timeout makes a second
    # writer wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# A SQLite hub holds sealed values, digests and the wrapped data keys: owner only, whatever
# the umask, as the master key file is. SQLite gives -wal and -shm the database file's mode.


def _make_private_folder(folder: Path) -> None:
    """Create ``folder`` (and missing parents) owner-only; an existing one is left as it is."""
    if folder.is_dir():
        return
    folder.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    os.chmod(folder, PRIVATE_FOLDER_MODE)  # mkdir's mode is filtered by the umask


def _create_private_file(file: Path) -> None:
    """Create an empty database file with mode 0600 before SQLite creates it with 0644."""
    try:
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"cannot create the database {file.resolve()}: {exc.strerror}") from None


def protect_sqlite_files(file: Path) -> None:
    """Make the database file and its -wal, -shm and -journal companions mode 0600."""
    for suffix in SQLITE_COMPANIONS:
        companion = file.with_name(file.name + suffix)
        try:
            if os.stat(companion).st_mode & 0o777 != PRIVATE_FILE_MODE:
                os.chmod(companion, PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StoreError(
                f"cannot make {companion.resolve()} private (mode 0600): {exc.strerror}"
            ) from None


# psycopg prepares a statement run five times, and PostgreSQL then plans it once for any
# parameters; a page's lookups by key list (records, quarantine, customer keys) then took
# 22-31 ms each instead of 1-2 (docs/performance.md, "PostgreSQL's generic plans"). Every
# statement is planned for its own parameters instead.
_PG_CONNECT: dict[str, Any] = {"prepare_threshold": None}


def create_engine(url: str, *, create_folder: bool = False) -> AsyncEngine:
    """An async engine for ``url`` (sqlite:///file.db or postgresql://...); with
    ``create_folder``, a SQLite file's folder (mode 0700) and file (mode 0600) are made first."""
    full = async_url(url)
    file = sqlite_file(url)
    if create_folder and file is not None:
        _make_private_folder(file.parent)
        _create_private_file(file)
    try:
        # hide_parameters: a failed statement's message (which may reach a log or a run's
        # error) names the statement, never the sealed values and digests it carried.
        engine = create_async_engine(
            full,
            pool_pre_ping=not full.startswith("sqlite"),
            hide_parameters=True,
            json_serializer=json_columns.dumps,
            **_driver_options(full, file),
        )
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(
            f"cannot use database URL scheme of {url.split(':', 1)[0]!r}: {exc}"
        ) from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    return engine


def _driver_options(url: str, file: Path | None) -> dict[str, Any]:
    if url.startswith("postgresql"):
        return {"connect_args": _PG_CONNECT}
    if file is not None:
        return {"async_creator": sqlite_connector(file)}
    return {}


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


def _revisions(connection: sa.Connection) -> tuple[str | None, str | None]:
    """The database's migration (None if it was never initialised) and the newest one."""
    head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
    return MigrationContext.configure(connection).get_current_revision(), head


def _sqlite_revision(file: Path) -> str | None:
    """The migration a SQLite file is at, read without creating or changing anything (the
    engine's pragmas would switch a stranger's file to WAL); None when it is no hub."""
    uri = file.resolve().as_uri() + "?mode=rw"  # mode=rw: never create the file
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:  # no alembic_version table, or not a SQLite file at all
        return None
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {file.resolve()}: {exc}") from None
    return None if row is None else str(row[0])


def _check_initialised(url: str) -> None:
    """Refuse a SQLite file that does not exist or holds no hub, before any engine touches it."""
    file = sqlite_file(url)
    if file is None:
        return
    if not file.is_file():
        raise StoreError(
            f"no hub database at {file.resolve()}; run `hub init` to create one there, "
            "or correct database_url"
        )
    if _sqlite_revision(file) is None:
        raise _not_a_hub(url)


async def _migrate(engine: AsyncEngine, url: str, *, create: bool) -> None:
    """Bring the schema to the newest migration; without ``create``, only a database that was
    initialised already."""
    try:
        async with engine.connect() as conn:
            current, head = await conn.run_sync(_revisions)
        if current is None and not create:
            raise _not_a_hub(url)
        if current == head:
            return
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot reach the database at {display_url(url)}: {exc.orig}") from None


async def open_engine(url: str, *, create: bool = False) -> AsyncEngine:
    """The engine of the hub database at ``url``, migrated to the newest schema.

    Without ``create`` the database must exist and have been initialised (StoreError naming
    it otherwise, and nothing is created); with it, a new one is made (``hub init``). A SQLite
    database file and its -wal and -shm are made mode 0600 on every open, with a warning for
    each that was not; a folder open to other users is warned about, not changed.
    """
    file = sqlite_file(url)
    if file is not None:
        warn_about_loose_paths(file)
        protect_sqlite_files(file)  # before anything reads it (a read creates -wal and -shm)
    if not create:
        _check_initialised(url)
    engine = create_engine(url, create_folder=create)
    try:
        await _migrate(engine, url, create=create)
    except BaseException:
        await engine.dispose()
        raise
    if file is not None:
        protect_sqlite_files(file)
    return engine
