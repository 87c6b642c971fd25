"""Prometheus metrics of `hub run`, and the HTTP endpoint that serves them with a health check.

One registry per service (not prometheus-client's global one), so tests and several hubs in
one process never mix their counts. Labels are connection and stream names, never values.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client import generate_latest as _generate_latest

from hub.errors import ConfigError

log = logging.getLogger(__name__)

_STREAM = ("connection", "stream")


class HubMetrics:
    """What a node of `hub run` counts: runs, records, failures, retries, rate-limit waits,
    lag per stream and lease takeovers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "hub_sync_runs", "Scheduled runs by outcome.", [*_STREAM, "outcome"], registry=r
        )
        self.records = Counter(
            "hub_records", "Records read and written by scheduled runs.", [*_STREAM, "what"],
            registry=r,
        )  # fmt: skip
        self.failures = Counter("hub_sync_failures", "Failed runs.", _STREAM, registry=r)
        self.retries = Counter(
            "hub_http_retries", "Requests retried (any reason).", ["connection"], registry=r
        )
        self.rate_limit_waits = Counter(
            "hub_rate_limit_waits",
            "Requests that waited on a rate limit, by reason: retry-after (a 429 or a quota "
            "error retried), quota (the vendor's headers said its quota is spent) or limit "
            "(the connection's client-side limit was full).",
            ["connection", "reason"],
            registry=r,
        )
        self.takeovers = Counter(
            "hub_lease_takeovers",
            "Streams taken over from a run whose process died or stopped renewing its lease.",
            _STREAM,
            registry=r,
        )
        self.lag = Gauge(
            "hub_stream_lag_seconds", "Age of the stream's last committed cursor.", _STREAM,
            registry=r,
        )  # fmt: skip
        self.drift_target = Gauge(
            "hub_stream_drift_target_seconds", "How far behind the stream may fall.", _STREAM,
            registry=r,
        )  # fmt: skip
        self.running = Gauge(
            "hub_sync_running", "Runs in progress on this node.", _STREAM, registry=r
        )

    def forget_stream(self, connection: str, stream: str) -> None:
        """Drop a removed stream's gauges, so dashboards stop showing its last lag."""
        for gauge in (self.lag, self.drift_target, self.running):
            with contextlib.suppress(KeyError):  # never set on this node
                gauge.remove(connection, stream)

    def exposition(self) -> bytes:
        return _generate_latest(self.registry)


async def serve_metrics(
    metrics: HubMetrics,
    health: Callable[[], tuple[bool, dict[str, Any]]],
    *,
    host: str,
    port: int,
    started: asyncio.Event | None = None,
) -> None:
    """Serve ``/metrics`` and ``/health`` (200 while ``health`` says ok, else 503) until
    cancelled."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def metrics_page(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    async def health_page(request: Request) -> Response:
        ok, detail = health()
        body = json.dumps({"status": "ok" if ok else "unavailable", **detail})
        return Response(body, status_code=200 if ok else 503, media_type="application/json")

    app = Starlette(routes=[Route("/metrics", metrics_page), Route("/health", health_page)])
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    # startup/main_loop/shutdown rather than serve(): serve() would take over SIGTERM and
    # SIGINT, which belong to `hub run`'s own graceful stop.
    # The socket is bound here: uvicorn would exit the process on a port in use.
    try:
        sock = socket.create_server((host, port))
        sock.setblocking(False)
    except OSError as exc:
        raise ConfigError(
            f"metrics_port {port}: cannot listen on {host}:{port} ({exc.strerror}); "
            "choose another port or stop what uses it"
        ) from None
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    if started is not None:
        started.set()
    log.info("metrics on http://%s:%d/metrics, health on /health", host, port)
    try:
        await server.main_loop()
    finally:
        server.should_exit = True
        await asyncio.shield(server.shutdown(sockets=[sock]))
        sock.close()
