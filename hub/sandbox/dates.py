"""The ``Date`` header of every sandbox response, from the sandbox's own clock.

Connectors that bound their reads by the server's time (an upper bound a safety margin behind
it) read this header; a sandbox serving a test's fake clock must show that clock, not the
machine's, so the server (uvicorn) writes no Date header of its own. Injected faults answer
without one, as a failing front end may.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate

from hub.sandbox.faults import ASGIApp, Message, Receive, Scope, Send


class DateHeader:
    """ASGI middleware: sets ``Date`` (RFC 9110 IMF-fixdate) on each response start."""

    def __init__(self, app: ASGIApp, clock: Callable[[], float]) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", formatdate(self.clock(), usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, dated)
