"""Counting what a connection really sends: every attempt, auth resend and token call."""

from __future__ import annotations

import httpx


class RequestCounter:
    """How many HTTP requests a connection has put on the wire; shared by its clients.

    The engine reads it before and after a page to report the true ``requests`` of the page,
    retries and credential refreshes included.
    """

    def __init__(self) -> None:
        self.sent = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sent={self.sent})"


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts each request handed to ``inner``; sits below the rate limiter, so a request
    still waiting for a slot (or cancelled while waiting) is not counted."""

    def __init__(self, inner: httpx.AsyncBaseTransport, counter: RequestCounter) -> None:
        self._inner = inner
        self.counter = counter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.counter.sent += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
