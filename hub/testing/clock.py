"""One fake clock for tests: callable like ``time.time`` and advanced by hand."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class FakeClock:
    """Seconds since the epoch, starting now (or at ``start``), moving only when told."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)
