"""Request limits the way vendors count them: fixed windows aligned to the clock ("requests
per minute"), or a rolling window (Salesforce's 24-hour API allowance)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class LimitDecision:
    """Whether a request may proceed, what is left in the window, and when it resets."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # whole seconds until the window resets, at least 1


class RequestLimiter(Protocol):
    """What a vendor limit of the request pipeline counts with."""

    limit: int

    def take(self) -> LimitDecision:
        """Count one request if there is room; refused requests are not counted."""
        ...

    def peek(self) -> LimitDecision:
        """The current state without counting a request."""
        ...


class WindowLimiter:
    """At most ``limit`` requests per window of ``window_seconds``, windows aligned to the clock."""

    def __init__(
        self, limit: int, *, window_seconds: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        if limit < 1:
            raise ValueError(f"rate limit must be at least 1 request per window, got {limit}")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._window = -1
        self._used = 0

    def take(self) -> LimitDecision:
        """Count one request if the window has room; refused requests are not counted."""
        now = self._clock()
        window = int(now // self.window_seconds)
        if window != self._window:
            self._window, self._used = window, 0
        reset_after = max(1, math.ceil((window + 1) * self.window_seconds - now))
        if self._used >= self.limit:
            return LimitDecision(False, self.limit, 0, reset_after)
        self._used += 1
        return LimitDecision(True, self.limit, self.limit - self._used, reset_after)

    def peek(self) -> LimitDecision:
        """The current state without counting a request."""
        now = self._clock()
        window = int(now // self.window_seconds)
        used = self._used if window == self._window else 0
        reset_after = max(1, math.ceil((window + 1) * self.window_seconds - now))
        return LimitDecision(used < self.limit, self.limit, max(self.limit - used, 0), reset_after)


class RollingWindowLimiter:
    """At most ``limit`` requests in any ``window_seconds`` ending now (a rolling window,
    as Salesforce counts its 24-hour API allowance), not in windows aligned to the clock:
    a request frees its place exactly one window after it was made. Requests are counted in
    ``buckets`` slices of the window, so memory stays small whatever the traffic."""

    def __init__(
        self,
        limit: int,
        *,
        window_seconds: float,
        buckets: int = 1440,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1:
            raise ValueError(f"rate limit must be at least 1 request per window, got {limit}")
        self.limit = limit
        self.window_seconds = window_seconds
        self._slice = window_seconds / buckets
        self._buckets = buckets
        self._clock = clock
        self._counts: deque[list[int]] = deque()  # [slice number, requests], oldest first
        self._used = 0

    def take(self) -> LimitDecision:
        """Count one request if the window has room; refused requests are not counted."""
        now = self._clock()
        current = self._expire(now)
        if self._used >= self.limit:
            return LimitDecision(False, self.limit, 0, self._reset_after(now))
        if self._counts and self._counts[-1][0] == current:
            self._counts[-1][1] += 1
        else:
            self._counts.append([current, 1])
        self._used += 1
        return LimitDecision(True, self.limit, self.limit - self._used, self._reset_after(now))

    def peek(self) -> LimitDecision:
        """The current state without counting a request."""
        now = self._clock()
        self._expire(now)
        remaining = max(self.limit - self._used, 0)
        return LimitDecision(remaining > 0, self.limit, remaining, self._reset_after(now))

    def _expire(self, now: float) -> int:
        current = int(now // self._slice)
        while self._counts and self._counts[0][0] <= current - self._buckets:
            self._used -= self._counts.popleft()[1]
        return current

    def _reset_after(self, now: float) -> int:
        """Seconds until the oldest counted requests leave the window (a place frees up)."""
        if not self._counts:
            return max(1, math.ceil(self.window_seconds))
        leaves = (self._counts[0][0] + self._buckets) * self._slice
        return max(1, math.ceil(leaves - now))
