"""The vendor's clock as its answers show it (the ``Date`` header), for reads bounded by time.

A connector that asks for "everything up to now" must mean the vendor's now: the machine's
clock may be skewed, and a sandbox serves a fixed history with its own clock. Each answer's
``Date`` updates the offset between the two clocks; :meth:`ServerClock.now` is ours plus it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


class ServerClock:
    """The server's time as last observed; the machine's until an answer says otherwise.

    A ``Date`` names a whole second; ``into_second`` says where in it the server's clock is
    taken to be: half-way by default, the best guess; 1.0 for the latest it can have read,
    when reads bounded by it must include whatever the server stamped within that second.
    """

    def __init__(self, clock: Callable[[], float] = time.time, *, into_second: float = 0.5) -> None:
        self._clock = clock
        self._into_second = into_second
        self._offset: float | None = None  # server clock minus ours, in seconds

    @property
    def observed(self) -> bool:
        """Whether an answer has shown the server's clock yet."""
        return self._offset is not None

    def observe(self, response: httpx.Response) -> None:
        """Take the offset from ``response``'s ``Date``; an absent or unreadable one is
        ignored (injected faults and some proxies answer without)."""
        date = response.headers.get("date")
        if not date:
            return
        try:
            server = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return
        self._offset = server + self._into_second - self._clock()

    def now(self) -> datetime:
        """The server's current time, as an aware UTC datetime."""
        return datetime.fromtimestamp(self._clock() + (self._offset or 0.0), UTC)
