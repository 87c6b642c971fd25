"""Zendesk's pagination styles: cursor lists, offset lists and incremental-export cursors.

See https://developer.zendesk.com/api-reference/introduction/pagination/ and
https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

CURSOR_PAGE_MAX = 100
OFFSET_PAGE_MAX = 100
OFFSET_PAGES_MAX = 100  # offset pagination stops after 100 pages (10,000 records), 2024 rollout


class ZendeskError(Exception):
    """An error answer in Zendesk's ``{"error", "description", "details"}`` shape."""

    def __init__(self, status: int, error: str, description: str, details: Any = None) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.body: dict[str, Any] = {"error": error, "description": description}
        if details is not None:
            self.body["details"] = details


def bad_parameter(description: str) -> ZendeskError:
    # [uncertain] exact error code of Zendesk's 400 for bad paging parameters.
    return ZendeskError(400, "InvalidPaginationParameter", description)


def int_param(params: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_parameter(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise bad_parameter(f"{name} must be between {low} and {high}")
    return value


def url(base: str, path: str, params: Mapping[str, Any]) -> str:
    return f"{base}{path}?{urlencode(params)}" if params else f"{base}{path}"


def encode_export_cursor(position: int, ts: int) -> str:
    """Incremental export cursor, shaped like Zendesk's base64 of ``"<time>.0||<id>|"``."""
    return base64.urlsafe_b64encode(f"{ts}.0||{position}|".encode()).decode()


def decode_export_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        _, _, rest = text.partition("||")
        return int(rest.rstrip("|"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_parameter("cursor is invalid") from None


def encode_list_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": "id", "v": position}).encode()).decode()


def decode_list_cursor(cursor: str) -> int:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))["v"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_parameter("page[after] is invalid") from None
    if not isinstance(value, int):
        raise bad_parameter("page[after] is invalid")
    return value


@dataclass(frozen=True)
class IdSpace:
    """A listable collection: positions ``[low, high)``, a cheap filter, a renderer, a count."""

    low: int
    high: int
    accept: Callable[[int], bool]
    render: Callable[[int], dict[str, Any]]
    count: Callable[[], int]

    def positions(self, start: int, limit: int) -> list[int]:
        found: list[int] = []
        position = max(start, self.low)
        while position < self.high and len(found) < limit:
            if self.accept(position):
                found.append(position)
            position += 1
        return found


def list_page(
    space: IdSpace, *, key: str, base: str, path: str, params: Mapping[str, str]
) -> dict[str, Any]:
    """One page in cursor style when ``page[size]`` is given, else in offset style."""
    if "page[size]" in params or "page[after]" in params:
        return _cursor_page(space, key=key, base=base, path=path, params=params)
    return _offset_page(space, key=key, base=base, path=path, params=params)


def _cursor_page(
    space: IdSpace, *, key: str, base: str, path: str, params: Mapping[str, str]
) -> dict[str, Any]:
    size = int_param(params, "page[size]", default=CURSOR_PAGE_MAX, low=1, high=CURSOR_PAGE_MAX)
    after = params.get("page[after]")
    start = decode_list_cursor(after) if after else space.low
    found = space.positions(start, size + 1)
    page, has_more = found[:size], len(found) > size
    after_cursor = encode_list_cursor(page[-1] + 1) if page else None
    keep = {k: v for k, v in params.items() if k not in ("page[size]", "page[after]")}
    next_url = (
        url(base, path, {**keep, "page[size]": size, "page[after]": after_cursor})
        if has_more and after_cursor
        else None
    )
    return {
        key: [space.render(p) for p in page],
        "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": None},
        "links": {"next": next_url, "prev": None},
    }


def _offset_page(
    space: IdSpace, *, key: str, base: str, path: str, params: Mapping[str, str]
) -> dict[str, Any]:
    number = int_param(params, "page", default=1, low=1, high=1_000_000)
    per_page = int_param(params, "per_page", default=OFFSET_PAGE_MAX, low=1, high=OFFSET_PAGE_MAX)
    if number > OFFSET_PAGES_MAX:
        raise bad_parameter(
            f"Offset pagination is limited to the first {OFFSET_PAGES_MAX} pages. "
            "Use cursor pagination instead."
        )
    found = space.positions(space.low, number * per_page + 1)
    page = found[(number - 1) * per_page : number * per_page]
    keep = {k: v for k, v in params.items() if k not in ("page", "per_page")}
    more = len(found) > number * per_page and number < OFFSET_PAGES_MAX
    return {
        key: [space.render(p) for p in page],
        "next_page": url(base, path, {**keep, "page": number + 1, "per_page": per_page})
        if more
        else None,
        "previous_page": url(base, path, {**keep, "page": number - 1, "per_page": per_page})
        if number > 1
        else None,
        "count": space.count(),
    }
