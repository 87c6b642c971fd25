"""Running `hub run` nodes as real processes, and reading what they did, for the scheduler's
tests (``python -m hub.testing``: the CLI with the memory connector registered)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from hub.config import Settings
from hub.runtime import Hub
from hub.store.schema import sync_runs
from tests.support import hub_env

# Fast enough for tests: connections noticed within half a second, a dead node's jobs free
# after two.
FAST_SERVICE = {"schedule_poll_seconds": 0.5, "scheduler_lease_seconds": 2}


def configure_service(settings: Settings, **values: float) -> None:
    """Append `hub run` settings to the test hub's hub.toml."""
    with (settings.home / "hub.toml").open("a", encoding="utf-8") as f:
        for key, value in {**FAST_SERVICE, **values}.items():
            f.write(f"{key} = {value}\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    """One `hub run` process, logging JSON lines to a file."""

    process: subprocess.Popen[bytes]
    log_file: Path
    metrics_port: int
    _log: Any = field(default=None, repr=False)

    def log_lines(self) -> list[dict[str, Any]]:
        lines = self.log_file.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def fires(self) -> list[str]:
        """The fires this node ran, as "connection/stream at time: outcome" messages."""
        return [e["message"] for e in self.log_lines() if e["message"].startswith("fire ")]

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples that carry ``labels``."""
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name + "{"):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
        return code

    def stop(self) -> None:
        """Stop the node whatever state it is in (test clean-up)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.wait()


def start_node(settings: Settings, log_file: Path) -> Node:
    port = free_port()
    env = {**hub_env(), "HUB_LOG_FORMAT": "json", "HUB_LOG_LEVEL": "INFO"}
    log = log_file.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.testing", "--config", str(settings.home / "hub.toml"),
         "run", "--metrics-port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=settings.home,
    )  # fmt: skip
    return Node(process, log_file, port, log)


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, seconds: float = 60, what: str = "condition"
) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def runs_of(hub: Hub, connection: str, stream: str | None = None) -> list[sa.Row[Any]]:
    """The connection's sync runs (not the quarantine replays of housekeeping)."""
    query = sa.select(sync_runs).where(
        sync_runs.c.connection == connection, sync_runs.c.kind == "sync"
    )
    if stream is not None:
        query = query.where(sync_runs.c.stream == stream)
    async with hub.engine.connect() as conn:
        return list(await conn.execute(query.order_by(sync_runs.c.id)))


async def committed_pages(hub: Hub, connection: str) -> int:
    return sum(r.pages for r in await runs_of(hub, connection))


def node_is_up(node: Node) -> Callable[[], Awaitable[bool]]:
    async def up() -> bool:
        if node.process.poll() is not None:
            raise AssertionError(f"hub run exited: {node.log_file.read_text()[-2000:]}")
        try:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"http://127.0.0.1:{node.metrics_port}/health")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    return up
