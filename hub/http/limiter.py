"""Client-side rate limiting: a sliding-window limiter per path prefix, applied by a transport
to every request a client sends."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import httpx

from hub.http.notices import LimitWait, notify_limit_wait
from hub.http.settings import QuotaHeaders, RateLimit

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class _Window:
    """Start times of the recent requests under one :class:`RateLimit`."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.starts: deque[float] = deque()
        self.lock = asyncio.Lock()


async def _wait(seconds: float) -> None:
    """The limiter's pause (tests replace it to move a fake clock instead of waiting)."""
    await asyncio.sleep(seconds)


class SlidingWindowLimiter:
    """Keeps every path prefix under its :class:`RateLimit` over a sliding window, and, with
    ``quota``, holds requests while the vendor's answers say its own quota is spent.

    Waiting is async and first come, first served. ``clock`` and ``sleep`` are injectable so
    tests can run the limiter on a fake clock.
    """

    def __init__(
        self,
        limits: Sequence[RateLimit],
        *,
        quota: QuotaHeaders | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
    ) -> None:
        self._windows = [_Window(limit) for limit in limits]
        self._quota = quota
        self._resume_at = 0.0
        self._clock = clock
        self._sleep = sleep

    def observe(self, headers: httpx.Headers) -> None:
        """Read the vendor's quota headers of an answer: spent means wait for the reset."""
        wait = None if self._quota is None else self._quota.wait(headers)
        if wait:
            self._resume_at = max(self._resume_at, self._clock() + wait)

    async def acquire(self, *paths: str) -> None:
        """Return once a request fits every limit whose prefix one of ``paths`` (the spellings
        of its path, see :func:`vendor_paths`) starts with."""
        resume_at = self._resume_at
        held = resume_at - self._clock()
        if held > 0:
            notify_limit_wait(LimitWait(held, "quota"))
            await self._pause(held)
            if self._resume_at == resume_at:  # no answer since asked for a longer hold
                self._resume_at = 0.0
        for window in self._windows:
            if any(path.startswith(window.limit.path_prefix) for path in paths):
                await self._take_slot(window)

    async def _take_slot(self, window: _Window) -> None:
        # Sleeping while holding the lock is deliberate: asyncio.Lock wakes waiters in FIFO
        # order, so the longest-waiting request always gets the next free slot.
        async with window.lock:
            told = False  # a request that waits twice for its slot is one wait
            while True:
                now = self._clock()
                horizon = now - window.limit.per_seconds
                while window.starts and window.starts[0] <= horizon:
                    window.starts.popleft()
                if len(window.starts) < window.limit.requests:
                    window.starts.append(now)
                    return
                if not told:
                    notify_limit_wait(LimitWait(window.starts[0] - horizon, "limit"))
                    told = True
                await self._pause(window.starts[0] - horizon)

    async def _pause(self, seconds: float) -> None:
        await (self._sleep or _wait)(seconds)


def _root() -> str:
    return "/"


def vendor_paths(path: str, base_path: str) -> tuple[str, ...]:
    """``path`` as a limit may name it: from the host, and without the base URL's own path.

    A limit on ``/api/v2/incremental/`` must hold whether the base URL is the host
    (``https://acme.zendesk.com``), has the API's path (``.../api/v2/``), or sits behind a
    tenant prefix or a gateway (``http://h/tenant`` + ``/api/v2/incremental/...``).
    """
    prefix = base_path.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        return path, path[len(prefix) :]
    return (path,)


class RateLimitedTransport(httpx.AsyncBaseTransport):
    """Applies a :class:`SlidingWindowLimiter` before every request the client sends,
    retries and auth resends included, then hands the request to ``inner``.

    ``base_path`` returns the path of the client's base URL (read at each request: an OAuth
    token answer may move the base URL), so limits match with and without it.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        limiter: SlidingWindowLimiter,
        base_path: Callable[[], str] = _root,
    ) -> None:
        self._inner = inner
        self.limiter = limiter
        self.base_path = base_path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.limiter.acquire(*vendor_paths(request.url.path, self.base_path()))
        response = await self._inner.handle_async_request(request)
        self.limiter.observe(response.headers)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
