"""The generic reader: a stream declared as (request, records path, paginator, cursor
strategy) becomes an async iterator of :class:`hub.connector.Page`, every request going
through :meth:`hub.connector.Connector.request_json` (retries, limits and auth stay in
:mod:`hub.http`). Each page carries the state to resume exactly after it.

Override points, as in singer-sdk's ``RESTStream``, are small callables of the declaration:
``records`` (where the records are, or a function extracting them) and ``check`` (what a
good answer looks like beyond its status).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from hub.connector import Page
from hub.errors import ConnectorError, VendorError
from hub.paging.cursors import FullRefresh
from hub.paging.errors import StreamStateError
from hub.paging.loops import LoopGuard
from hub.paging.paginators import Paginator, Position, SinglePage
from hub.paging.paths import getter
from hub.paging.request import PageRequest, PageResponse
from hub.paging.state import SavedState, Upgrade, load_state, stream_state
from hub.paging.strategy import CursorRun, CursorStrategy

if TYPE_CHECKING:
    from hub.connector import Connector

Records = str | Callable[[Any], Any]
"""A body path to the page's list of records, or a function returning it."""

ResponseCheck = Callable[[httpx.Response, Any], str | None]
"""Returns what is wrong with a 2xx answer (safe to show: no personal values), or None."""


@dataclass(frozen=True)
class RestStream:
    """How one stream is read: the declaration a connector writes instead of a loop."""

    request: PageRequest
    records: Records
    paginator: Paginator = field(default_factory=SinglePage)
    cursor: CursorStrategy = field(default_factory=FullRefresh)
    check: ResponseCheck | None = None
    upgrade: Upgrade | None = None  # rewrites states written before hub.paging's format
    # Turns the cursor's parameters (its rendered bounds) into the request's, for a vendor
    # whose bounds go inside a query language (a SOQL WHERE clause) rather than parameters.
    bounds_to_params: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None


async def read_stream(
    connector: Connector, stream: str, spec: RestStream, state: Mapping[str, Any] | None
) -> AsyncIterator[Page]:
    """Yield the pages of ``stream`` after ``state``, each with the state after it."""
    walk = StreamWalk(connector, stream, spec)
    saved = walk.load(state)
    run = walk.begin(saved)
    position = saved.next if saved is not None and saved.next is not None else None
    if position is None:
        position = run.resume_position()
    stored = position is not None  # only a stored position may have expired
    if position is None:
        if spec.paginator.is_empty(run.bounds):
            return
        position = spec.paginator.first(run.bounds)
    guard = LoopGuard(
        spec.paginator, connection=connector.connection, stream=stream, path=spec.request.path
    )
    guard.enter(position)
    requests = 0
    while True:
        requests += 1
        try:
            page = await walk.fetch(run, position)
        except ConnectorError as error:
            fallback = run.fall_back(error) if stored else None
            if fallback is None:
                raise
            run, stored = fallback, False
            guard.reset()
            position = spec.paginator.first(run.bounds)
            guard.enter(position)
            continue
        stored = False
        records = run.absorb(page.records)
        guard.compare(position, page.records, run.progress())
        following = walk.next_position(position, page)
        if following is None:
            resume = walk.resume_position(position, page)
            final = stream_state(run.finish(resume))
            yield Page(records=records, state=final, requests=requests)
            return
        # Before the page is yielded: a page pointing back never has its state stored.
        guard.enter(following)
        yield Page(records=records, state=stream_state(run.progress(), next=following),
                   requests=requests)  # fmt: skip
        requests = 0
        position = following


class StreamWalk:
    """The parts of a read that talk to the vendor or interpret its answers."""

    def __init__(self, connector: Connector, stream: str, spec: RestStream) -> None:
        self.connector = connector
        self.stream = stream
        self.spec = spec
        self._records = getter(spec.records) if isinstance(spec.records, str) else spec.records

    def load(self, state: Mapping[str, Any] | None) -> SavedState | None:
        return load_state(
            state,
            kind=self.spec.cursor.kind,
            upgrade=self.spec.upgrade,
            connection=self.connector.connection,
            stream=self.stream,
        )

    def begin(self, saved: SavedState | None) -> CursorRun:
        try:
            return self.spec.cursor.begin(
                None if saved is None else saved.cursor,
                resuming=saved is not None and saved.next is not None,
            )
        except ValueError as exc:
            raise StreamStateError(
                f"{exc}; start the stream over with `hub sync --full-refresh`",
                connection=self.connector.connection,
                stream=self.stream,
            ) from None

    async def fetch(self, run: CursorRun, position: Position) -> PageResponse:
        params: Mapping[str, Any] = run.params()
        if self.spec.bounds_to_params is not None:
            params = self.spec.bounds_to_params(params)
        request = self.spec.paginator.apply(self.spec.request.with_params(params), position)
        return await fetch_page(
            self.connector, self.stream, request, self._records, self.spec.check
        )

    def next_position(self, position: Position, page: PageResponse) -> Position | None:
        try:
            return self.spec.paginator.next_position(position, page)
        except ValueError as exc:
            raise self._bad_answer(str(exc)) from None

    def resume_position(self, position: Position, page: PageResponse) -> Position | None:
        try:
            return self.spec.paginator.resume_position(position, page)
        except ValueError as exc:
            raise self._bad_answer(str(exc)) from None

    def _bad_answer(self, problem: str) -> VendorError:
        return VendorError(
            f"{self.spec.request.path}: {problem}",
            connection=self.connector.connection,
            stream=self.stream,
        )


async def fetch_page(
    connector: Connector,
    stream: str,
    request: PageRequest,
    records: Callable[[Any], Any],
    check: ResponseCheck | None = None,
) -> PageResponse:
    """Send ``request`` and return its answer with the records extracted and checked."""
    response, body = await connector.request_json(
        request.method, request.path, stream=stream, **request.send_kwargs()
    )

    def bad(problem: str) -> VendorError:
        return VendorError(
            f"{request.path} {problem}", connection=connector.connection, stream=stream
        )

    if not isinstance(body, dict):
        raise bad("answered with something other than a JSON object")
    problem = check(response, body) if check is not None else None
    if problem is not None:
        raise bad(f"answered with an unusable page: {problem}")
    found = records(body)
    if found is None:
        found = []
    if not isinstance(found, list):
        raise bad("answered with records that are not a list")
    # Items that are not objects are kept: the mapping quarantines them, nothing is dropped.
    return PageResponse(response, body, found, connector.client.base_url)
