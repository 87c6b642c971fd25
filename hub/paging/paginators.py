"""Paginators: small strategy objects that say where a stream's first page is and where the
answer says the next one is, so that no connector writes a ``while True`` loop.

A paginator is immutable configuration; the progress of one walk is its *position* (a JSON
value: a token, a URL, a page number, ...), passed in and returned, so one paginator serves
concurrent reads and a position can be stored in a page's state and resumed on a fresh
process. Loop detection lives in :mod:`hub.paging.loops`, shared by every paginator.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import httpx

from hub.paging.instants import Bounds
from hub.paging.paths import getter
from hub.paging.request import PageRequest, PageResponse

Position = Any
"""Where a walk is: JSON-serialisable, None for "the first page, no paging parameters"."""


class Paginator(abc.ABC):
    """Where the first page is, how a position goes into a request and how an answer says
    where the next page is (singer-sdk's ``BaseAPIPaginator``, without its mutable state)."""

    compares_pages: ClassVar[bool] = False
    """True when positions are counted by the client (page numbers, offsets): a vendor that
    ignores them would answer the same page forever (caught as for any paginator, by
    comparing consecutive pages), and an empty page ends such a walk by itself."""

    def counts_positions(self) -> bool:
        """Whether consecutive pages are compared (``compares_pages``); a paginator that
        wraps another (time windows) answers for the one inside."""
        return self.compares_pages

    def progress(self, position: Position) -> Position:
        """The part of ``position`` that is progress by itself, whatever the page held (a
        time window); None for positions that only point at a page (tokens, page numbers)."""
        return None

    def first(self, bounds: Bounds) -> Position:
        """The position of a fresh walk over ``bounds``."""
        return None

    def is_empty(self, bounds: Bounds) -> bool:
        """True when there is nothing to request for ``bounds`` (an empty time range)."""
        return False

    @abc.abstractmethod
    def apply(self, request: PageRequest, position: Position) -> PageRequest:
        """``request`` asking for the page at ``position``."""

    @abc.abstractmethod
    def next_position(self, position: Position, page: PageResponse) -> Position | None:
        """The position of the page after ``page``, or None when ``page`` was the last."""

    def resume_position(self, position: Position, page: PageResponse) -> Position | None:
        """Where a *later run* may continue after the last page (a resume token), if the
        vendor offers one; None means a later run starts afresh."""
        return None

    @abc.abstractmethod
    def describe(self, position: Position) -> str:
        """The position as a user reads it in an error: ``cursor abc``, ``page 3``."""


@dataclass(frozen=True)
class SinglePage(Paginator):
    """The endpoint answers everything at once."""

    def apply(self, request: PageRequest, position: Position) -> PageRequest:
        return request

    def next_position(self, position: Position, page: PageResponse) -> Position | None:
        return None

    def describe(self, position: Position) -> str:
        return "the only page"


@dataclass(frozen=True)
class NextUrlPaginator(Paginator):
    """Follows the next page's URL from a body path (``links.next``, ``next_page``,
    ``nextRecordsUrl``) or, with ``path=None``, from the ``Link: <...>; rel="next"`` header.

    The URL carries the whole query, so the request's own parameters are not sent again. A
    next URL must stay on the connection's base URL (credentials must not follow a link to
    another host); it is kept relative to it, so a stored position survives a base URL change.

    ``origin`` is for a vendor whose product API lives on a host of its own (the stream's
    request then names an absolute URL on it): next URLs must stay on that origin instead,
    and are kept relative to it.
    """

    path: str | None = "links.next"
    origin: str | None = None

    def apply(self, request: PageRequest, position: Position) -> PageRequest:
        if position is None:
            return request
        if self.origin is not None:
            position = str(httpx.URL(self.origin).join(position))
        return replace(request, path=position, params={})

    def next_position(self, position: Position, page: PageResponse) -> Position | None:
        if self.path is None:
            link = page.response.links.get("next", {}).get("url")
        else:
            link = getter(self.path)(page.body)
        if link is None or link == "":
            return None
        if not isinstance(link, str):
            raise ValueError(f"the next-page link at {self.path!r} is not a string")
        base = page.base_url if self.origin is None else httpx.URL(self.origin)
        return relative_to_base(link, base)

    def describe(self, position: Position) -> str:
        return f"next URL {position}" if position else "the first page"


def relative_to_base(link: str, base: httpx.URL) -> str:
    """``link`` relative to ``base`` (path and query), refusing a link that leaves it."""
    url = base.join(link)
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
        raise ValueError(f"the next-page link points to another host ({url.host})")
    path = url.raw_path.decode("ascii")
    prefix = base.raw_path.decode("ascii")
    if not path.startswith(prefix):
        raise ValueError(f"the next-page link {path.split('?')[0]} leaves the base URL {prefix}")
    return path[len(prefix) :]


@dataclass(frozen=True)
class TokenPaginator(Paginator):
    """A token read from the body at ``token`` and sent as the query parameter ``param``.

    The walk stops when ``has_more`` (a body path) is false, when ``end`` (a body path such as
    ``end_of_stream``) is true, or when no token comes back. ``replaces`` names parameters the
    token stands in for (an export that takes ``start_time`` or ``cursor``, never both).
    """

    token: str
    param: str
    has_more: str | None = None
    end: str | None = None
    replaces: tuple[str, ...] = ()

    def apply(self, request: PageRequest, position: Position) -> PageRequest:
        if position is None:
            return request
        return request.without_params(self.replaces).with_params({self.param: position})

    def next_position(self, position: Position, page: PageResponse) -> Position | None:
        if self.has_more is not None and not getter(self.has_more)(page.body):
            return None
        if self.end is not None and getter(self.end)(page.body):
            return None
        return self._token(page)

    def resume_position(self, position: Position, page: PageResponse) -> Position | None:
        token = self._token(page)
        return position if token is None else token

    def describe(self, position: Position) -> str:
        return f"{self.param} {position}" if position is not None else "the first page"

    def _token(self, page: PageResponse) -> Position | None:
        token = getter(self.token)(page.body)
        if token is None or token == "":
            return None
        if not isinstance(token, str | int | float) or isinstance(token, bool):
            raise ValueError(f"the paging token at {self.token!r} is not a string or number")
        return token


@dataclass(frozen=True)
class PageNumberPaginator(Paginator):
    """Page numbers from ``start``: stops on an empty or short page (when ``size`` is set),
    or at the total given by ``total_pages`` or ``total_records`` (body paths).

    With ``body`` set, the number and size go into the JSON body's object of that name
    (``{"paging": {"pageNumber": 2, "pageSize": 100}}``) instead of the query string, for
    APIs that take a POSTed query.
    """

    compares_pages: ClassVar[bool] = True

    param: str = "page"
    start: int = 1
    size: int | None = None
    size_param: str | None = None
    total_pages: str | None = None
    total_records: str | None = None
    body: str | None = None

    def first(self, bounds: Bounds) -> Position:
        return self.start

    def apply(self, request: PageRequest, position: Position) -> PageRequest:
        params: dict[str, Any] = {self.param: position}
        if self.size_param is not None and self.size is not None:
            params[self.size_param] = self.size
        if self.body is not None:
            return request.with_json({self.body: params})
        return request.with_params(params)

    def next_position(self, position: Position, page: PageResponse) -> Position | None:
        number = int(position)
        count = len(page.records)
        if count == 0 or (self.size is not None and count < self.size):
            return None
        done = number - self.start + 1  # pages read so far
        if self.total_pages is not None and done >= _count(page, self.total_pages):
            return None
        if self.total_records is not None and self.size is not None:
            return None if done * self.size >= _count(page, self.total_records) else number + 1
        return number + 1

    def describe(self, position: Position) -> str:
        return f"{self.param} {position}"


@dataclass(frozen=True)
class OffsetPaginator(Paginator):
    """``offset``/``limit`` parameters: stops on a short page or at ``total`` (a body path)."""

    compares_pages: ClassVar[bool] = True

    limit: int
    offset_param: str = "offset"
    limit_param: str = "limit"
    start: int = 0
    total: str | None = None

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("an offset paginator's limit must be at least 1")

    def first(self, bounds: Bounds) -> Position:
        return self.start

    def apply(self, request: PageRequest, position: Position) -> PageRequest:
        return request.with_params({self.offset_param: position, self.limit_param: self.limit})

    def next_position(self, position: Position, page: PageResponse) -> Position | None:
        if len(page.records) < self.limit:
            return None
        following = int(position) + self.limit
        if self.total is not None and following >= _count(page, self.total):
            return None
        return following

    def describe(self, position: Position) -> str:
        return f"{self.offset_param} {position}"


def _count(page: PageResponse, path: str) -> int:
    value = getter(path)(page.body)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"the total at {path!r} is not a whole number")
    return value
