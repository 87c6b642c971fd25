"""The watermark cursor: the highest value of a record field seen so far decides where the
next run starts, ``lookback`` before it, and the boundary duplicates that re-reading brings
are dropped (dlt's ``incremental`` with ``lag``; Airbyte's ``lookback_window``).

Duplicates are recognised by a short digest of the whole record, kept for every record whose
value lies within ``lookback`` of the watermark (at most ``boundary_limit`` of them, newest
first): a record re-read unchanged is dropped, a record that changed comes through. Beyond
the limit, older re-read records are yielded again, which the store's upserts absorb.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ValidationError

from hub.errors import ConnectorError
from hub.paging.instants import (
    Bounds,
    Clock,
    Instant,
    Render,
    iso8601,
    require_instant,
    to_instant,
    utc_now,
)
from hub.paging.paginators import Position
from hub.paging.paths import getter
from hub.paging.strategy import CursorRun, CursorState, CursorStrategy, never_expired


@dataclass(frozen=True)
class Watermark(CursorStrategy):
    """Incremental reads by a record field holding a time (ISO-8601, datetime or epoch).

    A run reads ``[start, now - lag)``: ``start`` is ``initial`` on the first run, then
    ``lookback`` before the highest ``field`` value seen (never earlier than the previous
    start). The bounds go out as ``param`` and ``end_param`` (rendered by ``render``) when
    given; records past the upper bound are left for a later run. With
    ``advance_on_finish`` a finished run moves the watermark up to its upper bound, for
    vendors whose answer up to that bound is complete (windowed exports).
    """

    kind: ClassVar[str] = "watermark"

    field: str
    initial: Instant | None = None
    param: str | None = None
    end_param: str | None = None
    render: Render = iso8601
    lookback: timedelta = timedelta(0)
    lag: timedelta | None = None
    clock: Clock = utc_now
    boundary_limit: int = 1000
    advance_on_finish: bool = False
    # Recognises the vendor's answer to a stored mid-run position it no longer knows (a
    # query locator that expired): the read then starts a new run (see fall_back).
    expired: Callable[[ConnectorError], bool] = never_expired

    def __post_init__(self) -> None:
        if self.lookback < timedelta(0) or (self.lag is not None and self.lag < timedelta(0)):
            raise ValueError("a watermark's lookback and lag must not be negative")
        if self.boundary_limit < 0:
            raise ValueError("a watermark's boundary_limit must not be negative")
        self.initial_instant()  # a bad initial value fails at declaration, not mid-sync

    def initial_instant(self) -> datetime | None:
        return None if self.initial is None else require_instant(self.initial, "initial")

    def begin(self, saved: Mapping[str, Any] | None, *, resuming: bool) -> WatermarkRun:
        if saved is None:
            return WatermarkRun(self, start=self.initial_instant(), upper=self.upper_bound())
        try:
            stored = _Stored.model_validate(saved)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise ValueError(f"the watermark state is malformed at {fields}") from None
        return WatermarkRun(
            self,
            start=stored.start or self.initial_instant(),
            upper=stored.upper if resuming else self.upper_bound(),
            high=stored.high,
            seen={digest: value for value, digest in stored.seen},
        )

    def upper_bound(self) -> datetime | None:
        """``now - lag`` for a new run, or None without a lag."""
        return None if self.lag is None else self.clock() - self.lag

    def saved_state(
        self, *, start: Instant | None = None, high: Instant | None = None
    ) -> CursorState:
        """A finished-run state whose next run starts at ``start`` (for state upgrades)."""
        run = WatermarkRun(
            self,
            start=None if start is None else require_instant(start, "start"),
            upper=None,
            high=None if high is None else require_instant(high, "high"),
        )
        return run.progress()


class _Stored(BaseModel):
    kind: Literal["watermark"]
    start: datetime | None = None
    upper: datetime | None = None
    high: datetime | None = None
    seen: list[tuple[datetime, str]] = []


class WatermarkRun(CursorRun):
    """One run of a :class:`Watermark`: fixed bounds, a rising high value, the digests."""

    def __init__(
        self,
        strategy: Watermark,
        *,
        start: datetime | None,
        upper: datetime | None,
        high: datetime | None = None,
        seen: dict[str, datetime] | None = None,
    ) -> None:
        self._strategy = strategy
        self._start = start
        self._upper = upper
        self._high = high
        self._seen = dict(seen or {})
        self._value = getter(strategy.field)
        self.bounds = Bounds(start, upper)

    def params(self) -> dict[str, Any]:
        strategy, params = self._strategy, {}
        if strategy.param is not None and self._start is not None:
            params[strategy.param] = strategy.render(self._start)
        if strategy.end_param is not None and self._upper is not None:
            params[strategy.end_param] = strategy.render(self._upper)
        return params

    def absorb(self, records: list[Any]) -> list[Any]:
        """Drop records past the upper bound and re-read duplicates; raise the watermark."""
        values = [to_instant(self._value(record)) for record in records]
        previous, upper = self._high, self._upper
        in_range = [v for v in values if v is not None and (upper is None or v < upper)]
        high = max([*in_range, *([previous] if previous else [])], default=None)
        lookback = self._strategy.lookback
        keep_from = None if high is None else high - lookback
        duplicate_from = None if previous is None or not self._seen else previous - lookback
        kept: list[Any] = []
        for record, value in zip(records, values, strict=True):
            if value is None:  # no usable time: yielded (the mapping may quarantine it)
                kept.append(record)
                continue
            if upper is not None and value >= upper:
                continue
            digest = None
            if (
                duplicate_from is not None
                and previous is not None
                and (duplicate_from <= value <= previous)
            ):
                digest = _digest(record)
                if digest in self._seen:
                    continue
            kept.append(record)
            if keep_from is not None and value >= keep_from:
                self._seen[digest or _digest(record)] = value
        self._high = high
        self._prune()
        return kept

    def progress(self) -> CursorState:
        return self._state(self._start, self._upper)

    def finish(self, resume: Position | None) -> CursorState:
        if self._strategy.advance_on_finish and self._upper is not None:
            self._high = self._upper if self._high is None else max(self._high, self._upper)
            self._prune()
        return self._state(self._next_start(), None)

    def fall_back(self, error: ConnectorError) -> WatermarkRun | None:
        """When a stored mid-run position was refused as expired: a new run from where the
        next run would start (``lookback`` before the highest value committed), so a read
        stopped every day by a quota still advances; the overlap's rows are dropped by
        digest or upserted unchanged."""
        return self.restarted() if self._strategy.expired(error) else None

    def restarted(self) -> WatermarkRun:
        """A new run from what this one has seen (for a resume token that expired)."""
        return WatermarkRun(
            self._strategy,
            start=self._next_start(),
            upper=self._strategy.upper_bound(),
            high=self._high,
            seen=self._seen,
        )

    def _next_start(self) -> datetime | None:
        if self._high is None:
            return self._start
        start = self._high - self._strategy.lookback
        return start if self._start is None else max(start, self._start)

    def _prune(self) -> None:
        if self._high is None:
            return
        floor = self._high - self._strategy.lookback
        kept = sorted(
            ((value, digest) for digest, value in self._seen.items() if value >= floor),
            reverse=True,
        )[: self._strategy.boundary_limit]
        self._seen = {digest: value for value, digest in kept}

    def _state(self, start: datetime | None, upper: datetime | None) -> CursorState:
        seen = sorted((value, digest) for digest, value in self._seen.items())
        return {
            "kind": Watermark.kind,
            "start": _iso(start),
            "upper": _iso(upper),
            "high": _iso(self._high),
            "seen": [[value.isoformat(), digest] for value, digest in seen],
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _digest(record: Any) -> str:
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
