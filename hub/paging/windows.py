"""Time-window slicing: walk ``[lower, upper)`` in windows of ``step``, each window paged
by an inner paginator (Airbyte's ``DatetimeBasedCursor`` ``step``), for vendors whose
queries must name a bounded interval or whose result sets are capped per query."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.paging.instants import Bounds, Clock, Render, iso8601, utc_now
from hub.paging.paginators import Paginator, Position
from hub.paging.request import PageRequest, PageResponse

WindowPlacer = Callable[[PageRequest, datetime, datetime], PageRequest]
"""Puts a window's ``[start, end)`` into a request (an ``interval`` in a POSTed query, say)."""


@dataclass(frozen=True)
class TimeWindowPaginator(Paginator):
    """Windows ``[start, start + step)`` from the run's lower bound to its upper bound (now,
    from ``clock``, when the run has none), sent as ``start_param`` and ``end_param``.

    The position is ``{"window": [start, end], "until": upper, "inner": inner position}``, so a
    stored one resumes inside the window it stopped in. ``place``, when given, puts the window
    into the request instead of the two query parameters.
    """

    step: timedelta
    inner: Paginator
    start_param: str = ""
    end_param: str = ""
    render: Render = iso8601
    clock: Clock = utc_now
    place: WindowPlacer | None = None

    def __post_init__(self) -> None:
        if self.step <= timedelta(0):
            raise ValueError("a time window's step must be positive")
        if self.place is None and not (self.start_param and self.end_param):
            raise ValueError("a time window needs start_param and end_param, or place")

    def counts_positions(self) -> bool:
        # Page numbers inside a window loop as they would anywhere else.
        return self.inner.counts_positions()

    def progress(self, position: Position) -> Position:
        # A new window is progress even when it is as empty as the one before.
        return [position["window"], self.inner.progress(position["inner"])]

    def first(self, bounds: Bounds) -> Position:
        lower, upper = self._range(bounds)
        return self._window(lower, upper)

    def is_empty(self, bounds: Bounds) -> bool:
        lower, upper = self._range(bounds)
        return lower >= upper

    def apply(self, request: PageRequest, position: Position) -> PageRequest:
        start, end = _window_of(position)
        if self.place is not None:
            request = self.place(request, start, end)
        else:
            request = request.with_params(
                {self.start_param: self.render(start), self.end_param: self.render(end)}
            )
        return self.inner.apply(request, position["inner"])

    def next_position(self, position: Position, page: PageResponse) -> Position | None:
        inner = self.inner.next_position(position["inner"], page)
        if inner is not None:
            return {**position, "inner": inner}
        _, end = _window_of(position)
        until = datetime.fromisoformat(position["until"])
        return self._window(end, until) if end < until else None

    def describe(self, position: Position) -> str:
        start, end = _window_of(position)
        inner = self.inner.describe(position["inner"])
        return f"window {iso8601(start)}..{iso8601(end)} at {inner}"

    def _range(self, bounds: Bounds) -> tuple[datetime, datetime]:
        if bounds.lower is None:
            raise ValueError("time windows need a lower bound: give the cursor an initial value")
        return bounds.lower, bounds.upper or self.clock()

    def _window(self, start: datetime, until: datetime) -> dict[str, Any]:
        end = min(start + self.step, until)
        return {
            "window": [start.isoformat(), end.isoformat()],
            "until": until.isoformat(),
            "inner": self.inner.first(Bounds(start, end)),
        }


def _window_of(position: Position) -> tuple[datetime, datetime]:
    start, end = position["window"]
    return datetime.fromisoformat(start), datetime.fromisoformat(end)
