"""``hub bench``: engine throughput and peak memory against a bare-fetch baseline.

The sandbox runs in its own process, and each phase runs in a fresh child process so that
peak RSS belongs to that phase alone:

- ``fetch``: the connector reads every stream and decodes the pages, and does nothing else:
  the HTTP limit of this machine for this sandbox.
- ``engine``: a full ``hub sync`` of the same data into a new embedded hub: map, seal,
  upsert, commit per page.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hub.errors import HubError

PHASES = ("fetch", "engine")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _start_sandbox(
    connector: str, records: int, seed: int, faults: str | None = None
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "hub.cli",
            "sandbox",
            "serve",
            connector,
            "--records",
            str(records),
            "--seed",
            str(seed),
            "--option",
            "relaxed_limits=true",
            *(["--faults", faults] if faults else []),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise HubError(f"the {connector} sandbox did not start")
    return proc, json.loads(line)


def _run_phase(phase: str, args: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "hub.bench", phase, json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise HubError(f"bench phase {phase} failed: {out.stderr.strip().splitlines()[-1:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


async def bench_sync(
    connector: str,
    *,
    records: int,
    seed: int,
    database_url: str | None = None,
    log_level: str = "WARNING",
) -> dict[str, Any]:
    """Run both phases against one sandbox process and report them side by side; the engine
    phase logs at ``log_level`` (redacted, as a real sync) into a file whose size is given."""
    proc, info = await asyncio.to_thread(_start_sandbox, connector, records, seed)
    try:
        args = {
            "connector": connector,
            "records": records,
            "seed": seed,
            "connection_config": info["connection_config"],
            "database_url": database_url,
            "log_level": log_level,
        }
        fetch = await asyncio.to_thread(_run_phase, "fetch", args)
        engine = await asyncio.to_thread(_run_phase, "engine", args)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait)
    return {
        "connector": connector,
        "sandbox_records": records,
        "log_level": log_level,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "fetch": fetch,
        "engine": engine,
        "engine_vs_fetch": round(engine["records_per_second"] / fetch["records_per_second"], 3)
        if fetch["records_per_second"]
        else None,
    }


def _connection_config(args: dict[str, Any]) -> dict[str, Any]:
    # From the sandbox's own first line: the phases import no sandbox code, so their peak RSS
    # is the hub's alone.
    config: dict[str, Any] = args["connection_config"]
    return config


async def _fetch_phase(args: dict[str, Any]) -> dict[str, Any]:
    from hub.connection_config import build_connector

    connector = build_connector(args["connector"], "bench", _connection_config(args))
    read = requests = 0
    started = time.perf_counter()
    async with connector:
        for stream in connector.streams:
            async for page in connector.read(stream.name, None):
                read += len(page.records)
                requests += page.requests
    seconds = time.perf_counter() - started
    return _figures(read, requests, seconds)


async def _engine_phase(args: dict[str, Any]) -> dict[str, Any]:
    from hub.config import load_settings, write_default_config
    from hub.log import configure_logging
    from hub.runtime import Hub
    from hub.services.sandboxes import connect_sandbox
    from hub.services.setup import initialise
    from hub.sync import sync_connection

    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        home = Path(tmp)
        if args.get("database_url"):
            write_default_config(home / "hub.toml", {"database_url": args["database_url"]})
        await initialise(home)
        settings = load_settings(home / "hub.toml")
        log_file = home / "sync.log"
        with log_file.open("w", encoding="utf-8") as log_stream:
            async with Hub.open(settings) as hub:
                await connect_sandbox(hub, "bench", args["connector"], _connection_config(args))
                # Logging starts with the sync: what a DEBUG sync costs is what is measured.
                configure_logging(args.get("log_level", "WARNING"), stream=log_stream)
                started = time.perf_counter()
                results = await sync_connection(hub, "bench")
                seconds = time.perf_counter() - started
        read = sum(r.counters.records_read for r in results)
        requests = sum(r.counters.requests for r in results)
        figures = _figures(read, requests, seconds)
        figures["written"] = sum(r.counters.records_written for r in results)
        figures["quarantined"] = sum(r.counters.records_quarantined for r in results)
        figures["log_bytes"] = log_file.stat().st_size
        return figures


def _figures(read: int, requests: int, seconds: float) -> dict[str, Any]:
    return {
        "records": read,
        "requests": requests,
        "seconds": round(seconds, 3),
        "records_per_second": round(read / seconds, 1) if seconds else None,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def _main(argv: list[str]) -> None:
    phase, raw = argv
    args = json.loads(raw)
    runner = {"fetch": _fetch_phase, "engine": _engine_phase}[phase]
    sys.stdout.write(json.dumps(asyncio.run(runner(args))) + "\n")


if __name__ == "__main__":
    _main(sys.argv[1:])
