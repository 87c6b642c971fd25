"""Serving a sandbox with uvicorn on the loopback interface, over HTTP or self-signed HTTPS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
import uvicorn

from hub.sandbox.app import SandboxApp

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class RunningSandbox:
    """Where a served sandbox listens and how to talk to it."""

    vendor: str
    base_url: str
    credentials: dict[str, str] = field(repr=False)
    ca_file: str | None = None
    app: SandboxApp | None = field(default=None, repr=False, compare=False)

    def info(self) -> dict[str, Any]:
        """What ``hub sandbox serve`` prints: vendor, base_url, credentials, the CA file, and
        the connection config a hub uses for it (so a client needs no sandbox code)."""
        info: dict[str, Any] = {
            "vendor": self.vendor,
            "base_url": self.base_url,
            "credentials": dict(self.credentials),
        }
        if self.ca_file is not None:
            info["ca_file"] = self.ca_file
        if self.app is not None:
            info["connection_config"] = self.connection_config()
        return info

    def connection_config(self) -> dict[str, Any]:
        """The hub connection config for this sandbox (see ``SandboxApp.connection_config``)."""
        if self.app is None:
            raise RuntimeError(f"{self.vendor} sandbox at {self.base_url} has no app attached")
        return self.app.connection_config(self.base_url, self.ca_file)


@dataclass(frozen=True)
class _TlsFiles:
    ca_file: str
    cert_file: str


@contextlib.contextmanager
def _tls_files(enabled: bool) -> Iterator[_TlsFiles | None]:
    """A throw-away CA and a localhost/127.0.0.1 certificate, removed on exit."""
    if not enabled:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="hub-sandbox-tls-") as folder:
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", LOOPBACK)
        ca_file = Path(folder) / "ca.pem"
        cert_file = Path(folder) / "server.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
        yield _TlsFiles(str(ca_file), str(cert_file))


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this on Linux: without it Nagle + delayed ACK add ~40 ms to
    # every small response, and the sandbox, not the hub, would dominate every measurement.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _config(app: SandboxApp, tls: _TlsFiles | None, *, own_logging: bool) -> uvicorn.Config:
    return uvicorn.Config(
        app.app,
        interface="asgi3",
        http="h11",
        lifespan="off",
        access_log=False,  # it would log paths and query strings
        proxy_headers=False,
        server_header=False,
        date_header=False,  # the sandbox's own clock writes it (hub.sandbox.dates)
        log_config=uvicorn.config.LOGGING_CONFIG if own_logging else None,
        log_level="warning",
        timeout_graceful_shutdown=2,
        ssl_certfile=tls.cert_file if tls else None,
    )


def _running(app: SandboxApp, sock: socket.socket, tls: _TlsFiles | None) -> RunningSandbox:
    host, port = sock.getsockname()[:2]
    scheme = "https" if tls else "http"
    return RunningSandbox(
        vendor=app.vendor,
        base_url=f"{scheme}://{host}:{port}",
        credentials=dict(app.credentials),
        ca_file=tls.ca_file if tls else None,
        app=app,
    )


@contextlib.asynccontextmanager
async def serve_in_background(
    app: SandboxApp, *, port: int = 0, tls: bool = False, host: str = LOOPBACK
) -> AsyncIterator[RunningSandbox]:
    """Serve ``app`` in the running event loop for the duration of the block.

    ``port=0`` picks a free port; the real one is in ``running.base_url``. Signal handlers are
    left alone, so this is safe inside tests and other servers.
    """
    with _tls_files(tls) as tls_files:
        sock = _listen(host, port)
        server = uvicorn.Server(_config(app, tls_files, own_logging=False))
        server.config.load()
        server.lifespan = server.config.lifespan_class(server.config)
        await server.startup(sockets=[sock])
        loop_task = asyncio.create_task(server.main_loop())
        try:
            yield _running(app, sock, tls_files)
        finally:
            server.should_exit = True
            loop_task.cancel()  # it only refreshes the Date header; no need to wait a tick
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
            await server.shutdown(sockets=[sock])


def serve_forever(app: SandboxApp, *, port: int, tls: bool = False, host: str = LOOPBACK) -> None:
    """Serve until SIGINT/SIGTERM. The first line on stdout is the info JSON, for scripts.
    Either signal removes the temporary TLS files on the way out."""
    with _sigterm_as_interrupt(), _tls_files(tls) as tls_files:
        sock = _listen(host, port)
        info = json.dumps(_running(app, sock, tls_files).info())
        server = _AnnouncingServer(_config(app, tls_files, own_logging=True), info)
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except KeyboardInterrupt:
            pass  # SIGINT is how this server is meant to stop
        finally:
            sock.close()
            sys.stdout.flush()


class _AnnouncingServer(uvicorn.Server):
    """Prints ``info`` once started: a script that waits for the line may then stop the
    server with a signal, which uvicorn handles from then on."""

    def __init__(self, config: uvicorn.Config, info: str) -> None:
        super().__init__(config)
        self._info = info

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(self._info, flush=True)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as SIGINT does. uvicorn catches both while it serves
    and, once shut down, raises the signal again: by default SIGTERM would then end the
    process at once, before the temporary CA files are removed."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
