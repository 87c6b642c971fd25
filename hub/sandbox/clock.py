"""A sandbox's server clock that starts at a fixed instant, not at the machine's time.

A sandbox whose generated history ends "now" holds other data on each day it is built, so
two sandboxes of one seed built either side of midnight (or one served again the next day)
disagree. A :class:`RunningClock` started at the end of the generated history keeps that
history fixed: it shows the instant the sandbox was built as ``start`` and then runs with the
machine's monotonic time, so tokens still expire and rate-limit windows still roll.
"""

from __future__ import annotations

import time


class RunningClock:
    """Unix seconds: ``start`` when created, then real time going by, plus any
    :meth:`advance` (a test passing a pause on to the server without sleeping it)."""

    def __init__(self, start: float) -> None:
        self.start = start
        self._began = time.monotonic()
        self._advanced = 0.0

    def __call__(self) -> float:
        return self.start + self._advanced + time.monotonic() - self._began

    def advance(self, seconds: float) -> None:
        self._advanced += seconds
