"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import sqlalchemy as sa

from hub.runtime import Hub
from hub.store.engine import async_url, sqlite_file

UNLIMITED = 1_000_000


async def store_snapshot(
    hub: Hub, connection: str | None = None
) -> dict[tuple[str, ...], tuple[str, bool, dict[str, object]]]:
    """Every stored record, decrypted: (object_type, external_id) -> (kind, deleted, fields);
    keys start with the connection name when no ``connection`` is given.

    Keys differ between hubs, so stores are compared by their plaintext, not their bytes.
    """
    from hub.store.schema import records
    from hub.testing.store import store_snapshot as snapshot_of

    if connection is not None:
        return {k: v[:3] for k, v in (await snapshot_of(hub, connection)).items()}
    async with hub.engine.connect() as conn:
        names = set((await conn.execute(sa.select(records.c.connection).distinct())).scalars())
    return {
        (name, *key): value[:3]
        for name in sorted(names)
        for key, value in (await snapshot_of(hub, name)).items()
    }


def hub_env() -> dict[str, str]:
    """The environment without HUB_* settings: a subprocess finds its hub by its own config."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}


def run_hub(
    *args: str,
    cwd: Path | None = None,
    stdin: str | None = None,
    module: str = "hub.cli",
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """The ``hub`` command in a subprocess (``module="hub.testing"``: with the memory
    connector registered)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=hub_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def collector_off() -> Iterator[None]:
    """The cyclic garbage collector off for the block: what is still alive after a ``del``
    inside it is held by a reference cycle (or a real reference), not waiting for a run."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextlib.contextmanager
def writes_blocked(database_url: str, engine: sa.Engine, table: str) -> Iterator[None]:
    """Hold the store's write lock on ``table`` (SQLite: the whole file), so a process
    writing to it stops inside its next transaction: the moment a kill test kills it."""
    file = sqlite_file(database_url)
    if file is not None:
        lock = sqlite3.connect(file, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        return
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        yield


def sync_engine(database_url: str) -> sa.Engine:
    """A synchronous engine on the hub's database, for tests that watch a hub subprocess
    (psycopg 3 serves sync and async)."""
    return sa.create_engine(async_url(database_url).replace("+aiosqlite", ""))


def kill_inside_a_batch(
    config: Path,
    args: Sequence[str],
    database_url: str,
    engine: sa.Engine,
    table: str,
    *,
    started: Callable[[], bool],
) -> None:
    """Run ``hub --config CONFIG ARGS`` in a subprocess, wait until ``started()`` (it has
    committed a first batch), then hold the write lock on ``table`` so that it stops inside
    its next batch, and SIGKILL it there."""
    victim = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "--config", str(config), *args],
        env=hub_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not started() and time.monotonic() < deadline:
            assert victim.poll() is None, victim.stderr.read() if victim.stderr else ""
            time.sleep(0.002)
        with writes_blocked(database_url, engine, table):
            time.sleep(0.2)  # the victim is now waiting inside a batch
            assert victim.poll() is None, "it finished before it could be killed"
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
        if victim.stderr is not None:
            victim.stderr.close()
