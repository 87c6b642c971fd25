"""The two halves of a cursor strategy: :class:`CursorStrategy`, immutable configuration
stored by a stream's declaration, and :class:`CursorRun`, which tracks one run."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

from hub.errors import ConnectorError
from hub.paging.instants import Bounds
from hub.paging.paginators import Position

CursorState = dict[str, Any]


class CursorRun(abc.ABC):
    """One run of a cursor strategy: its bounds and parameters, the records it lets
    through, and the state to store after each page."""

    bounds: Bounds = Bounds()

    def params(self) -> dict[str, Any]:
        """Query parameters every request of the run carries (e.g. ``start_time``)."""
        return {}

    def resume_position(self) -> Position | None:
        """Where the paginator continues from a previous run (a resume token), if anywhere."""
        return None

    def absorb(self, records: list[Any]) -> list[Any]:
        """The records of a page to yield; a strategy may drop duplicates it already saw."""
        return records

    @abc.abstractmethod
    def progress(self) -> CursorState:
        """The state to store after a page when the run continues."""

    @abc.abstractmethod
    def finish(self, resume: Position | None) -> CursorState:
        """The state to store after the last page; ``resume`` is the paginator's resume
        position (see :meth:`hub.paging.Paginator.resume_position`)."""

    def fall_back(self, error: ConnectorError) -> CursorRun | None:
        """A run to retry with when ``error`` answered a stored position, or None."""
        return None


def never_expired(error: ConnectorError) -> bool:
    """The default ``expired`` of a strategy: no error means a stored position expired."""
    return False


class CursorStrategy(abc.ABC):
    """Incremental state of a stream. ``kind`` is stored with the state so that a state
    written by another strategy is refused rather than misread."""

    kind: ClassVar[str]

    @abc.abstractmethod
    def begin(self, saved: Mapping[str, Any] | None, *, resuming: bool) -> CursorRun:
        """The run after ``saved`` (None: the first run). ``resuming`` is True when the
        stored state is mid-run, so its bounds must be kept."""
