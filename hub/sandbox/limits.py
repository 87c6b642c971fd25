"""Fixed-window request limits, the way vendors count "requests per minute"."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LimitDecision:
    """Whether a request may proceed, what is left in the window, and when it resets."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # whole seconds until the window resets, at least 1


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
