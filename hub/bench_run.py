"""Figures of `hub run` (``hub bench run-idle|run-scale|run-takeover``), as JSON.

Each bench builds a throw-away hub (a temporary SQLite file, or a new schema on the
PostgreSQL server given) and starts real `hub run` nodes as processes. They run
``python -m hub.testing``, the CLI with the memory connector registered, so that idle
schedules and killed syncs need no vendor; the scale bench reads real sandboxes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

from hub.config import load_settings, write_default_config
from hub.errors import HubError
from hub.runtime import Hub
from hub.store.schema import stream_leases, sync_runs
from hub.store.scratch import scratch_schema
from hub.vault import create_master_key


@dataclass
class BenchNode:
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.asynccontextmanager
async def bench_hub(database_url: str | None, **service: float) -> AsyncIterator[Hub]:
    """A new hub in a temporary folder: SQLite there, or a fresh schema on ``database_url``."""
    with tempfile.TemporaryDirectory(prefix="hub-bench-run-") as folder:
        home = Path(folder)
        async with _database(database_url, home) as url:
            write_default_config(home / "hub.toml", {"database_url": url, **service})
            create_master_key(home / "secrets" / "master.key")
            from hub.plugins import register_plugin
            from hub.testing import memory

            register_plugin(memory, name="hub-testing-memory")
            async with Hub.open(load_settings(home / "hub.toml"), create=True) as hub:
                yield hub


@contextlib.asynccontextmanager
async def _database(server: str | None, home: Path) -> AsyncIterator[str]:
    if server is None:
        yield f"sqlite:///{home}/hub.db"
        return
    with scratch_schema(server, "hub_bench") as url:
        yield url


def start_node(hub: Hub, name: str) -> BenchNode:
    log = hub.settings.home / f"{name}.log"
    env = {**os.environ, "HUB_LOG_LEVEL": "INFO"}  # its "started" line, and one per fire
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "hub.testing", "--config", str(hub.settings.home / "hub.toml"),
             "run"],
            stdout=subprocess.DEVNULL, stderr=out, cwd=hub.settings.home, env=env,
        )  # fmt: skip
    return BenchNode(process, log)


async def node_started(node: BenchNode) -> None:
    """Wait for the node's "started" line: it schedules from then on."""

    async def started() -> bool:
        if node.process.poll() is not None:
            raise HubError(f"bench: a hub run node exited: {node.log.read_text()[-500:]}")
        return "hub run: node" in node.log.read_text(errors="replace")

    await _until(started, 300, "a node to start")


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise HubError(f"bench: timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _finished_runs(hub: Hub) -> int:
    async with hub.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(sync_runs.c.status != "running")
        return int(await conn.scalar(query.select_from(sync_runs)) or 0)


# -- idle schedules ----------------------------------------------------------------------


async def bench_idle(*, schedules: int, seconds: float, database_url: str | None) -> dict[str, Any]:
    """CPU and memory of one node holding ``schedules`` schedules that are not due: each
    stream syncs once at start (a one-record source), then waits its hour."""
    from hub.services.sandboxes import connect_sandbox
    from hub.services.schedules import set_schedule

    async with bench_hub(database_url) as hub:
        for i in range(schedules // 2):  # the memory connector has two streams
            name = f"m{i}"
            await connect_sandbox(hub, name, "memory", {"generate": {"people": 1, "cases": 1}})
            await set_schedule(hub, name, None, every="1h")
        node = start_node(hub, "node")
        try:
            started = time.monotonic()

            async def first_fires_done() -> bool:
                return await _finished_runs(hub) >= schedules

            await _until(first_fires_done, 1800, "the first fire of every schedule")
            settled = time.monotonic() - started
            process = psutil.Process(node.process.pid)
            before = process.cpu_times()
            await asyncio.sleep(seconds)
            after = process.cpu_times()
            rss = process.memory_info().rss
        finally:
            node.stop()
    cpu = (after.user + after.system) - (before.user + before.system)
    return {
        "schedules": schedules,
        "database": "postgresql" if database_url else "sqlite",
        "idle_seconds": seconds,
        "cpu_percent_of_one_core": round(100 * cpu / seconds, 2),
        "rss_mb": round(rss / 2**20, 1),
        "seconds_to_first_fire_of_all": round(settled, 1),
    }


# -- takeover after SIGKILL --------------------------------------------------------------


async def bench_takeover(*, kills: int, database_url: str) -> dict[str, Any]:
    """Seconds from SIGKILL of the node running a stream to the other node's run of it.

    The stream's schedule fires hourly, so the only way back is the dead node's job, which
    the other node takes once the scheduler lease lapses; the killed node is restarted
    before each next kill, so two nodes are up every time.
    """
    from hub.services.sandboxes import connect_sandbox
    from hub.services.schedules import set_schedule

    endless = {"people": 1, "cases": 20_000, "seed": 1, "page_delay_seconds": 0.05}
    async with bench_hub(database_url, sync_lease_seconds=10) as hub:
        await connect_sandbox(hub, "mem", "memory", {"generate": endless, "page_size": 10})
        await set_schedule(hub, "mem", "cases", every="1h")
        await set_schedule(hub, "mem", "people", every="1h")
        nodes = {n: start_node(hub, n) for n in ("a", "b")}
        takeovers: list[float] = []
        try:
            for _ in range(kills):
                for node in nodes.values():
                    await node_started(node)
                run_id, pid = await _running_cases(hub)
                victim = next(n for n, node in nodes.items() if node.process.pid == pid)
                nodes[victim].kill()
                killed = time.time()

                async def taken_over(before: int = run_id) -> bool:
                    later = await _running_cases(hub, wait=False)
                    return later is not None and later[0] > before

                await _until(taken_over, 300, "the other node to take the stream over")
                async with hub.engine.connect() as conn:
                    start = await conn.scalar(
                        sa.select(sa.func.max(sync_runs.c.started_at)).where(
                            sync_runs.c.stream == "cases"
                        )
                    )
                assert start is not None
                takeovers.append(start.timestamp() - killed)
                nodes[victim] = start_node(hub, victim)
        finally:
            for node in nodes.values():
                node.stop()
    return {
        "kills": kills,
        "scheduler_lease_seconds": hub.settings.scheduler_lease_seconds,
        "sync_lease_seconds": hub.settings.sync_lease_seconds,
        "takeover_seconds": [round(t, 2) for t in takeovers],
        "median_seconds": round(statistics.median(takeovers), 2),
        "worst_seconds": round(max(takeovers), 2),
    }


async def _running_cases(hub: Hub, *, wait: bool = True) -> Any:
    """(run id, holder pid) of the run holding mem/cases once it has committed a page."""
    from hub.store.leases import Holder

    async def held() -> Any:
        async with hub.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(stream_leases.c.run_id, stream_leases.c.holder, sync_runs.c.pages)
                    .join(sync_runs, sync_runs.c.id == stream_leases.c.run_id)
                    .where(stream_leases.c.stream == "cases")
                )
            ).first()
        if row is None or row.pages < 1:
            return None
        return int(row.run_id), Holder.parse(row.holder).pid

    if not wait:
        return await held()
    found: list[Any] = []

    async def running() -> bool:
        found[:] = [await held()]
        return found[0] is not None

    await _until(running, 300, "a node to sync mem/cases")
    return found[0]


# -- one node against two, on slow vendors -----------------------------------------------


async def bench_scale(
    *, nodes: int, connections: int, records: int, slots: int, database_url: str, source: str
) -> dict[str, Any]:
    """Seconds from the first run's start to every stream's first success when ``nodes``
    nodes sync ``connections`` slow vendors: Zendesk sandboxes whose every answer is slow
    (0.2 to 0.5 s), or memory sources waiting 0.3 s before each page of 10 (pure latency,
    no sandbox process competing for the CPU). What counts is how many streams sync at once
    (``slots`` per node)."""
    from hub.bench import _start_sandbox
    from hub.services.sandboxes import connect_sandbox

    sandboxes = []
    try:
        async with bench_hub(database_url, max_concurrent_syncs=slots) as hub:
            configs: list[tuple[str, dict[str, Any]]] = []
            for i in range(connections):
                if source == "memory":
                    slow = {"people": records, "cases": records, "page_delay_seconds": 0.3}
                    configs.append(("memory", {"generate": slow, "page_size": 10}))
                    continue
                proc, info = await asyncio.to_thread(
                    _start_sandbox, "zendesk", records, i, "slow=1.0"
                )
                sandboxes.append(proc)
                configs.append(("zendesk", info["connection_config"]))
            running = [start_node(hub, f"node{n}") for n in range(nodes)]
            try:
                for node in running:
                    await node_started(node)
                # Connections added once every node is up, so that none starts alone; each
                # stream fires at once, then not for its 15-minute default interval.
                for i, (connector, config) in enumerate(configs):
                    await connect_sandbox(hub, f"c{i}", connector, config)
                streams = await _stream_count(hub)

                async def all_synced() -> bool:
                    return await _streams_synced(hub) >= streams

                await _until(all_synced, 3600, "every stream's first sync")
            finally:
                for node in running:
                    node.stop()
            async with hub.engine.connect() as conn:
                # Until every stream's first success: a stream fired again meanwhile (a
                # schedule changed as it was added) is not part of the workload.
                firsts = (
                    sa.select(sa.func.min(sync_runs.c.finished_at).label("done"))
                    .where(sync_runs.c.status == "succeeded")
                    .group_by(sync_runs.c.connection, sync_runs.c.stream)
                    .subquery()
                )
                last = await conn.scalar(sa.select(sa.func.max(firsts.c.done)))
                first, failed = (
                    await conn.execute(
                        sa.select(
                            sa.func.min(sync_runs.c.started_at),
                            sa.func.count().filter(sync_runs.c.status != "succeeded"),
                        )
                    )
                ).one()
                errors = sorted(
                    {
                        str(e)[:200]
                        for e in await conn.scalars(
                            sa.select(sync_runs.c.error).where(sync_runs.c.status != "succeeded")
                        )
                    }
                )
    finally:
        for proc in sandboxes:
            proc.terminate()
            proc.wait()
    return {
        "source": source,
        "nodes": nodes,
        "slots_per_node": slots,
        "connections": connections,
        "streams": streams,
        "records_per_stream": records,
        "makespan_seconds": round((last - first).total_seconds(), 2),
        "runs_not_succeeded": failed,
        "their_errors": errors,
    }


async def _streams_synced(hub: Hub) -> int:
    """Streams with a succeeded run."""
    async with hub.engine.connect() as conn:
        synced = (
            sa.select(sync_runs.c.connection, sync_runs.c.stream)
            .where(sync_runs.c.status == "succeeded")
            .distinct()
            .subquery()
        )
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(synced)) or 0)


async def _stream_count(hub: Hub) -> int:
    from hub.services.schedules import current_plans

    return len(await current_plans(hub))
