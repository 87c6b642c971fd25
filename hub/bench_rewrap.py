"""``hub bench rewrap``: the rewrap job's rate, and what it costs a sync running beside it.

Against one sandbox process and one new hub (SQLite by default, or ``--database-url``):

1. sync connection ``a`` (the store to rewrap), rotate the data key, and time ``hub keys
   rewrap`` alone: tokens resealed per second;
2. sync connection ``b`` alone: the sync's records per second without a rewrap;
3. rotate again, start ``hub keys rewrap`` in another process, and sync connection ``c``
   (the same data as ``b``) while it runs: the sync's records per second beside a rewrap.

The ratio of 3 to 2 is what a rewrap costs a sync on this machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hub.bench import _start_sandbox
from hub.errors import HubError


async def bench_rewrap(
    connector: str, *, records: int, seed: int, database_url: str | None = None
) -> dict[str, Any]:
    """Run the three phases; figures as a JSON-able dict."""
    from hub.config import load_settings, write_default_config
    from hub.runtime import Hub
    from hub.services.keys import rewrap, rotate_keys
    from hub.services.sandboxes import connect_sandbox
    from hub.services.setup import initialise
    from hub.sync import sync_connection

    proc, info = await asyncio.to_thread(_start_sandbox, connector, records, seed)
    config: dict[str, Any] = info["connection_config"]
    try:
        with tempfile.TemporaryDirectory(prefix="hub-bench-rewrap-") as tmp:
            home = Path(tmp)
            if database_url:
                write_default_config(home / "hub.toml", {"database_url": database_url})
            await initialise(home)
            settings = load_settings(home / "hub.toml")
            async with Hub.open(settings) as hub:
                for name in ("a", "b", "c"):
                    await connect_sandbox(hub, name, connector, config)
                await sync_connection(hub, "a")
                await rotate_keys(hub, force=True)
                started, cpu = time.perf_counter(), time.process_time()
                alone = await rewrap(hub)
                rewrap_seconds = time.perf_counter() - started
                rewrap_cpu = time.process_time() - cpu

                sync_alone = await _timed_sync(hub, "b", sync_connection)

                await rotate_keys(hub, force=True)
                job = _rewrap_process(home / "hub.toml")
                job_started = time.perf_counter()
                beside = await _timed_sync(hub, "c", sync_connection)
                job_running_at_end = job.poll() is None
                out, err = await asyncio.to_thread(job.communicate)
                job_seconds = time.perf_counter() - job_started
                if job.returncode != 0:
                    raise HubError(f"the rewrap beside the sync failed: {err.strip()[-300:]}")
                concurrent = json.loads(out)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait)
    return {
        "connector": connector,
        "sandbox_records": records,
        "database": "postgresql" if database_url and "postgres" in database_url else "sqlite",
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "rewrap": {
            "tokens": alone.rewrapped,
            "records_rehashed": alone.rehashed,
            "batches": alone.batches,
            "seconds": round(rewrap_seconds, 3),
            "tokens_per_second": round(alone.rewrapped / rewrap_seconds, 1),
            # This process's CPU time: on a shared machine the wall clock also counts the
            # time other processes held the cores.
            "cpu_seconds": round(rewrap_cpu, 3),
            "tokens_per_cpu_second": round(alone.rewrapped / rewrap_cpu, 1),
        },
        "sync_alone": sync_alone,
        "sync_beside_rewrap": {
            **beside,
            "rewrap_tokens": concurrent["rewrapped"],
            "rewrap_seconds": round(job_seconds, 3),
            "rewrap_still_running_when_sync_ended": job_running_at_end,
        },
        "sync_beside_vs_alone": round(
            beside["records_per_second"] / sync_alone["records_per_second"], 3
        ),
    }


async def _timed_sync(hub: Any, name: str, sync_connection: Any) -> dict[str, Any]:
    started = time.perf_counter()
    results = await sync_connection(hub, name)
    seconds = time.perf_counter() - started
    read = sum(r.counters.records_read for r in results)
    return {
        "records": read,
        "seconds": round(seconds, 3),
        "records_per_second": round(read / seconds, 1),
    }


def _rewrap_process(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "hub.cli", "--config", str(config), "keys", "rewrap", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
