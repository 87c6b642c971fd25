"""Vendor-neutral paging for sandbox list endpoints: id spaces, cursor tokens, offset pages.

A listable collection is an :class:`IdSpace`: integer positions with a cheap filter, so a page
costs O(page) and never materialises the collection. :class:`CursorPaging` and
:class:`OffsetPaging` hold a vendor's parameter names and limits; each gives back the
positions of one page and the URLs of its neighbours, and the vendor wraps them in its own
envelope. Bad parameters raise the error the vendor's ``invalid`` factory builds.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

InvalidParameter = Callable[[str], Exception]


@dataclass(frozen=True)
class IdSpace:
    """A listable collection: positions ``[low, high)``, a cheap filter, a renderer, a count."""

    low: int
    high: int
    accept: Callable[[int], bool]
    render: Callable[[int], dict[str, Any]]
    count: Callable[[], int]

    def positions(self, start: int, limit: int) -> list[int]:
        """Up to ``limit`` accepted positions from ``start`` on."""
        found: list[int] = []
        position = max(start, self.low)
        while position < self.high and len(found) < limit:
            if self.accept(position):
                found.append(position)
            position += 1
        return found


def page_url(base: str, path: str, params: Mapping[str, Any]) -> str:
    """``base`` + ``path`` with ``params`` as the query string (none: no ``?``)."""
    return f"{base}{path}?{urlencode(params)}" if params else f"{base}{path}"


def int_param(
    params: Mapping[str, str],
    name: str,
    *,
    default: int,
    low: int,
    high: int,
    invalid: InvalidParameter = ValueError,
) -> int:
    """Query parameter ``name`` as an integer in ``[low, high]``, ``default`` when absent."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise invalid(f"{name} must be between {low} and {high}")
    return value


def encode_token(payload: Mapping[str, Any]) -> str:
    """An opaque cursor token: URL-safe base64 of compact JSON."""
    return base64.urlsafe_b64encode(json.dumps(dict(payload)).encode()).decode()


def decode_token(token: str) -> dict[str, Any] | None:
    """The payload of :func:`encode_token`, or None when ``token`` is not one."""
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class PositionToken:
    """A cursor token carrying one position under ``key``, with fixed ``extra`` fields (a
    vendor's cursors often name the sort order, say ``{"o": "id"}``)."""

    key: str = "v"
    extra: tuple[tuple[str, Any], ...] = ()

    def encode(self, position: int) -> str:
        return encode_token({**dict(self.extra), self.key: position})

    def decode(self, token: str) -> int | None:
        payload = decode_token(token)
        value = None if payload is None else payload.get(self.key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class CursorPage:
    """One cursor page: the positions on it, whether more follow, the token and URL after."""

    positions: list[int]
    size: int
    has_more: bool
    after: str | None
    next_url: str | None


@dataclass(frozen=True)
class CursorPaging:
    """Cursor paging by a size parameter and an after-token parameter."""

    size_param: str
    after_param: str
    default_size: int
    max_size: int
    token: PositionToken = PositionToken()
    invalid: InvalidParameter = ValueError

    def applies(self, params: Mapping[str, str]) -> bool:
        """Whether a request asks for this style (it names one of the parameters)."""
        return self.size_param in params or self.after_param in params

    def page(
        self, space: IdSpace, params: Mapping[str, str], *, base: str, path: str
    ) -> CursorPage:
        size = int_param(
            params, self.size_param, default=self.default_size, low=1, high=self.max_size,
            invalid=self.invalid,
        )  # fmt: skip
        after = params.get(self.after_param)
        start = space.low
        if after:
            decoded = self.token.decode(after)
            if decoded is None:
                raise self.invalid(f"{self.after_param} is invalid")
            start = decoded
        found = space.positions(start, size + 1)
        positions, has_more = found[:size], len(found) > size
        token = self.token.encode(positions[-1] + 1) if positions else None
        keep = {k: v for k, v in params.items() if k not in (self.size_param, self.after_param)}
        next_url = (
            page_url(base, path, {**keep, self.size_param: size, self.after_param: token})
            if has_more and token
            else None
        )
        return CursorPage(positions, size, has_more, token, next_url)


@dataclass(frozen=True)
class OffsetPage:
    """One numbered page: its positions, and the URLs of the pages around it."""

    positions: list[int]
    number: int
    per_page: int
    next_url: str | None
    previous_url: str | None


@dataclass(frozen=True)
class OffsetPaging:
    """Numbered pages (1-based) of a per-page size; ``max_pages`` is where the vendor stops."""

    page_param: str
    per_page_param: str
    default_per_page: int
    max_per_page: int
    max_pages: int | None = None
    invalid: InvalidParameter = ValueError
    too_deep: str = "Offset pagination is limited to the first {max_pages} pages."

    def page(
        self, space: IdSpace, params: Mapping[str, str], *, base: str, path: str
    ) -> OffsetPage:
        number = int_param(
            params, self.page_param, default=1, low=1, high=1_000_000, invalid=self.invalid
        )
        per_page = int_param(
            params, self.per_page_param, default=self.default_per_page, low=1,
            high=self.max_per_page, invalid=self.invalid,
        )  # fmt: skip
        if self.max_pages is not None and number > self.max_pages:
            raise self.invalid(self.too_deep.format(max_pages=self.max_pages))
        found = space.positions(space.low, number * per_page + 1)
        positions = found[(number - 1) * per_page : number * per_page]
        more = len(found) > number * per_page and (
            self.max_pages is None or number < self.max_pages
        )
        keep = {k: v for k, v in params.items() if k not in (self.page_param, self.per_page_param)}

        def link(to: int) -> str:
            query = {**keep, self.page_param: to, self.per_page_param: per_page}
            return page_url(base, path, query)

        return OffsetPage(
            positions,
            number,
            per_page,
            link(number + 1) if more else None,
            link(number - 1) if number > 1 else None,
        )
