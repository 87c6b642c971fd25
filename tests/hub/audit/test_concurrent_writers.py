"""Several processes appending at once on PostgreSQL keep one tree: numbers 1..n without
gaps or repeats, and a trail that verifies (real subprocesses)."""

from __future__ import annotations

import asyncio
import itertools
import sys
import time

import pytest

from hub.audit.checkpoints import make_checkpoint
from hub.audit.trail import stored_entries
from hub.audit.verify import verify_stored_trail
from hub.config import Settings
from hub.runtime import Hub
from hub.services.audit import signer

WRITER = """
import asyncio, sys, time
from pathlib import Path
from hub.audit import Actor, AuditEntry, record
from hub.config import load_settings
from hub.runtime import Hub

async def main(config, name, start, count):
    async with Hub.open(load_settings(Path(config))) as hub:
        time.sleep(max(0.0, start - time.time()))  # both writers begin together
        for i in range(count):
            async with hub.engine.begin() as conn:
                await record(conn, AuditEntry(Actor(name, "admin", "test"), "test.append",
                                              target_id=str(i)))

asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
"""
PER_WRITER = 60


async def test_two_processes_appending_at_once_make_one_valid_tree(
    hub: Hub, hub_settings: Settings
) -> None:
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with its file lock; the race is PostgreSQL's")
    config = str(hub_settings.home / "hub.toml")
    start = time.time() + 4  # after both have imported the hub and opened the database
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER,
            config,
            name,
            str(start),
            str(PER_WRITER),
            stderr=asyncio.subprocess.PIPE,
        )
        for name in ("w1", "w2")
    ]
    for writer in writers:
        _, err = await asyncio.wait_for(writer.communicate(), timeout=240)
        assert writer.returncode == 0, err.decode()[-2000:]
    async with hub.engine.begin() as conn:
        await make_checkpoint(conn, signer(hub))
    async with hub.engine.connect() as conn:
        entries = [e async for e in stored_entries(conn)]
        verdict = await verify_stored_trail(conn, signer(hub))
    assert [e["seq"] for e in entries] == list(range(1, 2 * PER_WRITER + 1))
    by_writer = {
        name: [e["target_id"] for e in entries if e["principal"] == name] for name in ("w1", "w2")
    }
    assert by_writer == {name: [str(i) for i in range(PER_WRITER)] for name in ("w1", "w2")}
    assert verdict.ok, verdict.problem
    # Interleaved, not one after the other: the appends really raced.
    principals = [e["principal"] for e in entries]
    assert sum(a != b for a, b in itertools.pairwise(principals)) > 2
