"""`hub run`: the scheduler service, with its metrics and health endpoint when configured."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from hub.metrics import serve_metrics
from hub.runtime import Hub
from hub.scheduler import SchedulerService


async def run_service(
    hub: Hub,
    service: SchedulerService,
    *,
    metrics_port: int | None = None,
    on_ready: Callable[[SchedulerService], None] | None = None,
) -> None:
    """Serve the schedules until ``service.stopping`` is set and the running syncs have
    committed their page; /metrics and /health alongside when a port is configured."""
    port = metrics_port if metrics_port is not None else hub.settings.metrics_port
    endpoint: asyncio.Task[None] | None = None
    if port is not None:
        listening = asyncio.Event()
        endpoint = asyncio.create_task(
            serve_metrics(
                service.metrics,
                service.health,
                host=hub.settings.metrics_host,
                port=port,
                started=listening,
            )
        )
        await _first(listening.wait(), endpoint)  # a port in use fails here, before anything
    serving = asyncio.create_task(service.serve())
    try:
        await _first(service.started.wait(), serving)
        if on_ready is not None:
            on_ready(service)
        await serving
    finally:
        if not serving.done():
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        if endpoint is not None:
            endpoint.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await endpoint


async def _first(waiting: Coroutine[Any, Any, Any], task: asyncio.Task[None]) -> None:
    """Wait for ``waiting`` unless ``task`` ends first (then raise what ended it)."""
    waiter = asyncio.ensure_future(waiting)
    try:
        await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not waiter.done():
            waiter.cancel()
    if task.done() and not waiter.done():
        task.result()
        raise RuntimeError("the service ended before it started")
