"""The SQLite connections the engine opens: aiosqlite over the standard sqlite3 module, with
two corrections for connections that SQLAlchemy throws away mid-transaction.

SQLAlchemy throws a connection away when the task using it is cancelled during a statement
(`hub run`'s second signal, or any cancelled sync). Two things then went wrong:

- ``sqlite3.Connection.close()`` with a cursor whose statement never finished keeps the
  transaction, and the database's write lock, open until that cursor is garbage collected;
  every other writer in the process waited out the busy timeout, then failed.
- When the task is cancelled again while its connection closes (anyio's cancel scopes cancel
  on every await), SQLAlchemy stops aiosqlite's worker thread while aiosqlite's own
  ``close()`` is under way; ``close()`` then stops it a second time and waits forever for a
  thread that has ended, so the process never exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite

_ITER_CHUNK_SIZE = 64  # aiosqlite.connect's default


class _SQLiteConnection(sqlite3.Connection):
    """Closing rolls back first, so the write lock goes with the connection."""

    def close(self) -> None:
        # ProgrammingError: closed already (aiosqlite may close twice), which close() allows.
        with contextlib.suppress(sqlite3.Error):
            if self.in_transaction:
                self.rollback()
        super().close()


class _AiosqliteConnection(aiosqlite.Connection):
    """Stopping the worker thread a second time does nothing, instead of returning a future
    that the ended thread will never complete."""

    def stop(self) -> asyncio.Future[Any] | None:
        if not self._running:
            return None
        return super().stop()


def sqlite_connector(file: Path) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """SQLAlchemy's ``async_creator`` for the database ``file``."""
    path = str(file)

    def open_file() -> sqlite3.Connection:
        return sqlite3.connect(path, check_same_thread=False, factory=_SQLiteConnection)

    async def connect() -> aiosqlite.Connection:
        connection = _AiosqliteConnection(open_file, _ITER_CHUNK_SIZE)
        # As SQLAlchemy does for aiosqlite.connect(): the thread never keeps the process alive.
        connection._thread.daemon = True
        return await connection

    return connect
