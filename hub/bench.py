"""``hub bench``: engine throughput and peak memory against a bare-fetch baseline.

The sandbox runs in its own process, and each phase runs in a fresh child process so that
peak RSS belongs to that phase alone:

- ``fetch``: the connector reads every stream and decodes the pages, and does nothing else.
  In the same process it then replays the very requests it sent (same export cursors, same
  headers) with a plain ``httpx`` client that only decodes the JSON: the ``decode`` figures,
  the bare wire-plus-decode ceiling of this machine for this sandbox.
- ``engine``: a full ``hub sync`` of the same data into a new hub (SQLite, or a fresh
  PostgreSQL schema with ``database_url``): map, seal, upsert, commit per page; then a second,
  incremental sync with nothing changed (``resync``). With ``refresh_changed_percent`` it then
  runs a full refresh with nothing changed (``refresh``: every record re-read, none sealed),
  asks the sandbox to change that share of the tickets, and runs a full refresh again
  (``refresh_changed``).

- ``saved``: the engine fed from pages read beforehand. The phase starts a sandbox of its
  own, reads every stream through the connector (keeping each page pickled, in memory only),
  stops that sandbox, and only then syncs the saved pages into a new hub: no vendor on the
  machine, as with a vendor elsewhere, so a core the sandbox took is free (to measure
  ``sync_workers``, or the engine without the sandbox's noise). It makes no requests and has
  no resync; its peak RSS includes the saved pages (``saved_pages_mb``).

Every phase reports CPU time (user + system of the process, its threads and reaped child
processes) per record besides wall time: the machine is shared, and CPU time is the steadier
figure.
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
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.errors import HubError

if TYPE_CHECKING:  # the phases import the engine themselves, in their own process
    from hub.runtime import Hub

PHASES = ("fetch", "engine", "saved")
_LIVE = ("fetch", "engine")  # the phases that read from the bench's own sandbox


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _cpu_seconds() -> float:
    """User + system CPU of this process (all threads) and of its reaped children (workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


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
    phases: Sequence[str] = PHASES,
    refresh_changed_percent: float | None = None,
    workers: int | str | None = None,
) -> dict[str, Any]:
    """Run the ``phases`` against one sandbox process and report them side by side; the
    engine phase logs at ``log_level`` (redacted, as a real sync) into a file whose size is
    given. Ratios are reported when both phases ran. ``refresh_changed_percent`` adds the
    engine's two full refreshes (nothing changed, then that % of tickets changed). ``workers``
    is the engine's ``sync_workers`` (None: the setting's default)."""
    unknown = sorted(set(phases) - set(PHASES))
    if unknown or not phases:
        raise HubError(
            f"unknown bench phase(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(PHASES)}"
        )
    args: dict[str, Any] = {
        "connector": connector,
        "records": records,
        "seed": seed,
        "database_url": database_url,
        "log_level": log_level,
        "refresh_changed_percent": refresh_changed_percent,
        "workers": workers,
    }
    ran: dict[str, Any] = {}
    if any(phase in phases for phase in _LIVE):
        proc, info = await asyncio.to_thread(_start_sandbox, connector, records, seed)
        try:
            live = {**args, "connection_config": info["connection_config"]}
            for phase in _LIVE:
                if phase in phases:
                    ran[phase] = await asyncio.to_thread(_run_phase, phase, live)
        finally:
            proc.terminate()
            await asyncio.to_thread(proc.wait)
    if "saved" in phases:  # after the live phases: their sandbox is stopped by now
        ran["saved"] = await asyncio.to_thread(_run_phase, "saved", args)
    report: dict[str, Any] = {
        "connector": connector,
        "sandbox_records": records,
        "log_level": log_level,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        **ran,
    }
    engine, fetch = ran.get("engine"), ran.get("fetch")
    if engine is not None:
        report["resync_vs_sync"] = _ratio(engine["resync"]["seconds"], engine["seconds"])
        for name in ("refresh", "refresh_changed"):
            if name in engine:  # CPU, the steadier figure on a shared machine
                report[f"{name}_vs_sync_cpu"] = _ratio(
                    engine[name]["cpu_seconds"], engine["cpu_seconds"]
                )
    if engine is not None and fetch is not None:
        rate = engine["records_per_second"]
        report["engine_vs_fetch"] = _ratio(rate, fetch["records_per_second"])
        report["engine_vs_decode"] = _ratio(rate, fetch["decode"]["records_per_second"])
    return report


def _ratio(part: float | None, whole: float | None) -> float | None:
    return round(part / whole, 3) if part is not None and whole else None


def _connection_config(args: dict[str, Any]) -> dict[str, Any]:
    # From the sandbox's own first line: the phases import no sandbox code, so their peak RSS
    # is the hub's alone.
    config: dict[str, Any] = args["connection_config"]
    return config


@dataclass(frozen=True)
class _SentRequest:
    """A request as the connector put it on the wire; kept in memory only (it carries the
    sandbox's credentials) and replayed by the bare decode."""

    method: str
    url: str
    headers: list[tuple[bytes, bytes]]
    content: bytes


async def _fetch_phase(args: dict[str, Any]) -> dict[str, Any]:
    import httpx

    from hub.connection_config import build_connector

    connector = build_connector(args["connector"], "bench", _connection_config(args))
    sent: list[_SentRequest] = []

    async def record(request: httpx.Request) -> None:
        sent.append(
            _SentRequest(request.method, str(request.url), request.headers.raw, request.content)
        )

    read = requests = 0
    cpu = _cpu_seconds()
    started = time.perf_counter()
    async with connector:
        connector.client.event_hooks["request"].append(record)
        for stream in connector.streams:
            async for page in connector.read(stream.name, None):
                read += len(page.records)
                requests += page.requests
    seconds = time.perf_counter() - started
    figures = _figures(read, requests, seconds, _cpu_seconds() - cpu)
    figures["decode"] = await _bare_decode(sent, read)
    return figures


async def _bare_decode(sent: list[_SentRequest], records: int) -> dict[str, Any]:
    """Replay ``sent`` in order with a plain client that only decodes each JSON body."""
    import httpx

    cpu = _cpu_seconds()
    started = time.perf_counter()
    async with httpx.AsyncClient(trust_env=False, timeout=60) as client:
        for request in sent:
            response = await client.request(
                request.method, request.url, headers=request.headers, content=request.content
            )
            json.loads(response.content)
    seconds = time.perf_counter() - started
    return _figures(records, len(sent), seconds, _cpu_seconds() - cpu)


async def _saved_phase(args: dict[str, Any]) -> dict[str, Any]:
    """Read every stream from a sandbox of this phase's own, stop it, then sync the saved
    pages (``saved`` in the module's docstring)."""
    import pickle

    from hub.connection_config import build_connector

    proc, info = await asyncio.to_thread(
        _start_sandbox, args["connector"], args["records"], args["seed"]
    )
    args = {**args, "connection_config": info["connection_config"]}
    saved: dict[str, list[bytes]] = {}
    try:
        connector = build_connector(args["connector"], "bench", _connection_config(args))
        async with connector:
            for stream in connector.streams:
                saved[stream.name] = [
                    pickle.dumps(page) async for page in connector.read(stream.name, None)
                ]
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait)
    figures = await _engine_phase(args, saved=saved)
    size = sum(len(page) for pages in saved.values() for page in pages)
    figures["saved_pages_mb"] = round(size / 2**20, 1)
    return figures


async def _engine_phase(
    args: dict[str, Any], *, saved: dict[str, list[bytes]] | None = None
) -> dict[str, Any]:
    from hub.config import load_settings, write_default_config
    from hub.log import configure_logging
    from hub.runtime import Hub
    from hub.services.sandboxes import connect_sandbox
    from hub.services.setup import initialise
    from hub.sync_workers import pss_mb

    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        home = Path(tmp)
        async with _fresh_database(args.get("database_url")) as database_url:
            if database_url:
                write_default_config(home / "hub.toml", {"database_url": database_url})
            await initialise(home)
            settings = load_settings(home / "hub.toml")
            if args.get("workers") is not None:
                settings = settings.model_copy(update={"sync_workers": args["workers"]})
            log_file = home / "sync.log"
            with log_file.open("w", encoding="utf-8") as log_stream:
                workers_seen: list[Any] = []
                parent_pss: float | None = None
                async with Hub.open(settings) as hub:
                    await connect_sandbox(hub, "bench", args["connector"], _connection_config(args))
                    # Logging starts with the sync: what a DEBUG sync costs is what is measured.
                    configure_logging(args.get("log_level", "WARNING"), stream=log_stream)
                    figures = await _timed_sync(hub, saved=saved)
                    figures["workers"] = hub.sync_workers.count if hub.sync_workers else 0
                    if saved is None:
                        figures["resync"] = await _timed_sync(hub)
                    percent = args.get("refresh_changed_percent")
                    if percent is not None and saved is None:
                        figures["refresh"] = await _timed_sync(hub, full_refresh=True)
                        tickets = int(args["records"] * percent / 100)
                        figures["changed_tickets"] = await _mutate(args, tickets)
                        figures["refresh_changed"] = await _timed_sync(hub, full_refresh=True)
                    if hub.sync_workers is not None:
                        workers_seen = await hub.sync_workers.usage()
                        parent_pss = pss_mb()
            figures["log_bytes"] = log_file.stat().st_size
            figures["peak_rss_parent_mb"] = round(_peak_rss_mb(), 1)
            figures.update(_worker_memory(workers_seen, parent_pss))
            return figures


async def _mutate(args: dict[str, Any], tickets: int) -> int:
    """Ask the sandbox to change ``tickets`` tickets (it alternates tickets and users, so
    about as many users change too); the number of tickets changed."""
    import httpx

    base_url = _connection_config(args)["base_url"]
    changed = 0
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=60) as client:
        remaining = 2 * tickets
        while remaining > 0:
            count = min(remaining, 10_000)
            response = await client.post("/_sandbox/mutate", json={"count": count})
            response.raise_for_status()
            changed += sum(1 for i in response.json()["ids"] if i.startswith("ticket/"))
            remaining -= count
    return changed


async def _timed_sync(
    hub: Hub, *, full_refresh: bool = False, saved: dict[str, list[bytes]] | None = None
) -> dict[str, Any]:
    """One sync's figures (of the ``saved`` pages, if given); with worker processes,
    ``cpu_seconds`` is the parent's and the workers' together, split in
    ``cpu_parent_seconds`` and ``cpu_workers_seconds``."""
    from hub.sync import sync_connection

    cpu = _cpu_seconds()
    workers_before = await _workers_cpu(hub)
    started = time.perf_counter()
    if saved is None:
        results = await sync_connection(hub, "bench", full_refresh=full_refresh)
    else:
        results = await _sync_saved(hub, saved)
    seconds = time.perf_counter() - started
    parent = _cpu_seconds() - cpu
    workers = await _workers_cpu(hub) - workers_before
    read = sum(r.counters.records_read for r in results)
    requests = sum(r.counters.requests for r in results)
    figures = _figures(read, requests, seconds, parent + workers)
    figures["cpu_parent_seconds"] = round(parent, 3)
    figures["cpu_workers_seconds"] = round(workers, 3)
    if read:
        figures["cpu_parent_ms_per_record"] = round(1000 * parent / read, 4)
        figures["cpu_workers_ms_per_record"] = round(1000 * workers / read, 4)
    if hub.sync_workers is not None:
        figures["worker_pages"] = hub.sync_workers.pages
    figures["written"] = sum(r.counters.records_written for r in results)
    figures["unchanged"] = sum(r.counters.records_unchanged for r in results)
    figures["quarantined"] = sum(r.counters.records_quarantined for r in results)
    figures["deleted"] = sum(r.counters.records_deleted for r in results)
    figures["erased"] = sum(r.counters.records_erased for r in results)
    return figures


async def _sync_saved(hub: Hub, saved: dict[str, list[bytes]]) -> list[Any]:
    """Sync each stream of the "bench" connection from its saved pages, in order, through the
    engine's own StreamSync (runs, leases, page transactions), with no request sent."""
    import pickle

    from hub.sync import StreamSync

    def reader(pages: list[bytes]) -> Any:
        async def read(stream: str, state: Any) -> AsyncIterator[Any]:
            for page in pages:
                yield pickle.loads(page)  # noqa: S301 - pickled by this process just before

        return read

    results = []
    async with hub.connection("bench") as connector:
        for name, pages in saved.items():
            connector.read = reader(pages)  # type: ignore[method-assign]
            results.append(await StreamSync(hub, connector, name).run())
    return results


async def _workers_cpu(hub: Hub) -> float:
    """CPU seconds the hub's sync worker processes have used so far (live ones are asked)."""
    if hub.sync_workers is None:
        return 0.0
    return sum(u.cpu_seconds for u in await hub.sync_workers.usage())


def _worker_memory(usage: list[Any], parent_pss: float | None) -> dict[str, Any]:
    """Peak RSS of the workers (each, the largest, and parent + workers + the forkserver they
    were forked from: an upper bound, as forked processes share the pages they inherited)."""
    if not usage:
        return {}
    peaks = [round(u.peak_rss_mb, 1) for u in usage]
    server = _forkserver_peak_mb()
    out: dict[str, Any] = {
        "peak_rss_workers_mb": peaks,
        "peak_rss_worker_max_mb": max(peaks),
        "peak_rss_forkserver_mb": server,
    }
    out["peak_rss_sum_mb"] = round(_peak_rss_mb() + sum(peaks) + (server or 0.0), 1)
    # At the end of the last sync, before the hub closes: shared pages counted once.
    from hub.sync_workers import pss_mb

    pss = [parent_pss, *(u.pss_mb for u in usage), pss_mb(_forkserver_pid() or 0)]
    if all(p is not None for p in pss):
        out["pss_end_parent_workers_forkserver_mb"] = [round(p or 0.0, 1) for p in pss]
        out["pss_end_sum_mb"] = round(sum(p or 0.0 for p in pss), 1)
    return out


def _forkserver_pid() -> int | None:
    from multiprocessing import forkserver

    pid: int | None = getattr(forkserver._forkserver, "_forkserver_pid", None)
    return pid


def _forkserver_peak_mb() -> float | None:
    """Peak RSS of this process's multiprocessing forkserver, from /proc (Linux)."""
    pid = _forkserver_pid()
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except (OSError, TypeError):
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


@asynccontextmanager
async def _fresh_database(url: str | None) -> AsyncIterator[str | None]:
    """``url`` itself for SQLite (or None: the hub's default file); for PostgreSQL, a new
    schema of it, dropped afterwards, so every run starts empty."""
    if not url or not url.startswith("postgresql"):
        yield url
        return
    from hub.store.scratch import scratch_schema

    with scratch_schema(url, "hub_bench") as scratch:
        yield scratch


def _figures(read: int, requests: int, seconds: float, cpu_seconds: float) -> dict[str, Any]:
    return {
        "records": read,
        "requests": requests,
        "seconds": round(seconds, 3),
        "records_per_second": round(read / seconds, 1) if seconds else None,
        "cpu_seconds": round(cpu_seconds, 3),
        "cpu_ms_per_record": round(1000 * cpu_seconds / read, 4) if read else None,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def _main(argv: list[str]) -> None:
    phase, raw = argv
    args = json.loads(raw)
    runner = {"fetch": _fetch_phase, "engine": _engine_phase, "saved": _saved_phase}[phase]
    sys.stdout.write(json.dumps(asyncio.run(runner(args))) + "\n")


if __name__ == "__main__":
    _main(sys.argv[1:])
