"""Zendesk's pagination styles: cursor lists, offset lists and incremental-export cursors.

Configurations of :mod:`hub.sandbox.paging`; see
https://developer.zendesk.com/api-reference/introduction/pagination/ and
https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from hub.sandbox import paging
from hub.sandbox.paging import CursorPaging, IdSpace, OffsetPaging, PositionToken
from hub.sandbox.pipeline import VendorApiError

__all__ = [
    "CURSOR_PAGE_MAX",
    "CURSOR_STYLE",
    "OFFSET_PAGES_MAX",
    "OFFSET_PAGE_MAX",
    "OFFSET_STYLE",
    "IdSpace",
    "ZendeskError",
    "bad_parameter",
    "decode_export_cursor",
    "decode_list_cursor",
    "encode_export_cursor",
    "encode_list_cursor",
    "int_param",
    "list_page",
    "url",
]

CURSOR_PAGE_MAX = 100
OFFSET_PAGE_MAX = 100
OFFSET_PAGES_MAX = 100  # offset pagination stops after 100 pages (10,000 records), 2024 rollout


class ZendeskError(VendorApiError):
    """An error answer in Zendesk's ``{"error", "description", "details"}`` shape."""

    def __init__(self, status: int, error: str, description: str, details: Any = None) -> None:
        super().__init__(status, error, description, details)

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "description": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


def bad_parameter(description: str) -> ZendeskError:
    # [uncertain] exact error code of Zendesk's 400 for bad paging parameters.
    return ZendeskError(400, "InvalidPaginationParameter", description)


def int_param(params: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    return paging.int_param(
        params, name, default=default, low=low, high=high, invalid=bad_parameter
    )


url = paging.page_url
LIST_TOKEN = PositionToken("v", (("o", "id"),))


def encode_list_cursor(position: int) -> str:
    """A ``page[after]`` token, as the cursor-paged lists write it."""
    return LIST_TOKEN.encode(position)


def decode_list_cursor(cursor: str) -> int:
    """The position in a ``page[after]`` token; a 400 for one this sandbox did not issue."""
    position = LIST_TOKEN.decode(cursor)
    if position is None:
        raise bad_parameter("page[after] is invalid")
    return position


CURSOR_STYLE = CursorPaging(
    size_param="page[size]",
    after_param="page[after]",
    default_size=CURSOR_PAGE_MAX,
    max_size=CURSOR_PAGE_MAX,
    token=LIST_TOKEN,
    invalid=bad_parameter,
)
OFFSET_STYLE = OffsetPaging(
    page_param="page",
    per_page_param="per_page",
    default_per_page=OFFSET_PAGE_MAX,
    max_per_page=OFFSET_PAGE_MAX,
    max_pages=OFFSET_PAGES_MAX,
    invalid=bad_parameter,
    too_deep="Offset pagination is limited to the first {max_pages} pages. "
    "Use cursor pagination instead.",
)


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


def list_page(
    space: IdSpace, *, key: str, base: str, path: str, params: Mapping[str, str]
) -> dict[str, Any]:
    """One page in cursor style when ``page[size]`` or ``page[after]`` is given, else offset."""
    if CURSOR_STYLE.applies(params):
        cursor = CURSOR_STYLE.page(space, params, base=base, path=path)
        return {
            key: [space.render(p) for p in cursor.positions],
            "meta": {"has_more": cursor.has_more, "after_cursor": cursor.after,
                     "before_cursor": None},
            "links": {"next": cursor.next_url, "prev": None},
        }  # fmt: skip
    offset = OFFSET_STYLE.page(space, params, base=base, path=path)
    return {
        key: [space.render(p) for p in offset.positions],
        "next_page": offset.next_url,
        "previous_page": offset.previous_url,
        "count": space.count(),
    }
