"""Paging and incremental state, as building blocks a connector declares instead of loops.

- **Paginators** (:mod:`hub.paging.paginators`, :mod:`hub.paging.windows`): where the next
  page is. :class:`NextUrlPaginator` (a body path or the ``Link`` header),
  :class:`TokenPaginator` (a body token sent as a parameter), :class:`PageNumberPaginator`,
  :class:`OffsetPaginator` and :class:`TimeWindowPaginator` (``[start, end)`` in steps, each
  window paged by an inner paginator). A position seen twice in one walk, or the same page
  answered twice, raises :class:`PaginationLoop` (a ``VendorError``).
- **Cursor strategies** (:mod:`hub.paging.watermark`, :mod:`hub.paging.cursors`): where a
  run starts. :class:`Watermark` (lookback, lag, boundary duplicates dropped),
  :class:`ResumeToken` (the vendor's token, falling back to a watermark when it expired) and
  :class:`FullRefresh`. Stream states are versioned (:mod:`hub.paging.state`); a state this
  hub cannot read raises :class:`StreamStateError`.
- **Readers**: :func:`read_stream` turns a :class:`RestStream` declaration into pages through
  ``Connector.request_json``; :func:`read_export_job` does the same for an
  :class:`ExportJob` (submit, poll, page through results, resubmit when expired).
"""

from hub.paging.cursors import FullRefresh, ResumeToken
from hub.paging.errors import PaginationLoop, StreamStateError
from hub.paging.instants import (
    Bounds,
    Clock,
    Instant,
    epoch_seconds,
    iso8601,
    utc_date,
    utc_day_start,
    utc_now,
)
from hub.paging.jobs import ExportJob, read_export_job
from hub.paging.paginators import (
    NextUrlPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    Paginator,
    Position,
    SinglePage,
    TokenPaginator,
)
from hub.paging.reader import RestStream, read_stream
from hub.paging.request import PageRequest, PageResponse
from hub.paging.state import STATE_VERSION, stream_state
from hub.paging.strategy import CursorRun, CursorStrategy
from hub.paging.watermark import Watermark
from hub.paging.windows import TimeWindowPaginator, WindowPlacer

__all__ = [
    "STATE_VERSION",
    "Bounds",
    "Clock",
    "CursorRun",
    "CursorStrategy",
    "ExportJob",
    "FullRefresh",
    "Instant",
    "NextUrlPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "PageRequest",
    "PageResponse",
    "PaginationLoop",
    "Paginator",
    "Position",
    "RestStream",
    "ResumeToken",
    "SinglePage",
    "StreamStateError",
    "TimeWindowPaginator",
    "TokenPaginator",
    "Watermark",
    "WindowPlacer",
    "epoch_seconds",
    "iso8601",
    "read_export_job",
    "read_stream",
    "stream_state",
    "utc_date",
    "utc_day_start",
    "utc_now",
]
