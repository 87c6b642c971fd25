"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from hub.runtime import Hub

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
