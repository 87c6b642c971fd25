"""Genesys Cloud's paging envelopes and error bodies, as the sandbox renders them.

Entity listings (``UserEntityListing`` and kin) page by ``pageSize``/``pageNumber`` (from 1)
and carry ``total``, ``pageCount`` and ``firstUri``/``selfUri``/``nextUri``/``previousUri``/
``lastUri`` as API-relative URIs; scans page by an opaque cursor (``cursors.after``). Errors
are ``ErrorBody`` objects: ``message``, ``code``, ``status``, ``contextId``, ``details``,
``errors`` (vendor-apis.md 4.3, 4.4).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.responses import JSONResponse, Response

from hub.sandbox.paging import PositionToken, int_param
from hub.sandbox.pipeline import VendorApiError

Record = dict[str, Any]
SCAN_CURSOR = PositionToken("after")


def error_body(status: int, code: str, message: str, details: Any = None) -> Record:
    """An ``ErrorBody``; ``contextId`` is the correlation id support would ask for."""
    return {
        "message": message,
        "code": code,
        "status": status,
        "contextId": str(uuid.uuid4()),
        "details": details if isinstance(details, list) else [],
        "errors": [],
    }


def render_error(error: VendorApiError) -> Response:
    body = error_body(error.status, error.code, error.message, error.details)
    return JSONResponse(body, status_code=error.status)


def bad_request(message: str) -> VendorApiError:
    return VendorApiError(400, "bad.request", message)


def not_found(what: str) -> VendorApiError:
    return VendorApiError(404, "not.found", f"{what} not found")


def _page_int(params: Mapping[str, str], name: str, default: int, high: int) -> int:
    return int_param(params, name, default=default, low=1, high=high, invalid=bad_request)


def entity_listing(
    path: str,
    params: Mapping[str, str],
    count: int,
    fetch: Callable[[range], Sequence[Record]],
    *,
    max_page_size: int = 500,
    max_reach: int | None = None,
) -> Record:
    """One page of an entity listing of ``count`` records; ``fetch`` renders a range.

    ``max_reach`` refuses pages beyond ``pageNumber * pageSize`` records (external contacts
    stop at 1000 and point to the scan endpoint).
    """
    size = _page_int(params, "pageSize", 25, max_page_size)
    number = _page_int(params, "pageNumber", 1, 1_000_000)
    if max_reach is not None and number * size > max_reach:
        raise bad_request(f"pageNumber * pageSize must not exceed {max_reach}; use the scan")
    start = (number - 1) * size
    entities = fetch(range(start, min(start + size, count))) if start < count else []
    pages = max(math.ceil(count / size), 1)

    def uri(page: int) -> str:
        return f"{path}?{urlencode({'pageSize': size, 'pageNumber': page})}"

    listing: Record = {
        "entities": list(entities),
        "pageSize": size,
        "pageNumber": number,
        "total": count,
        "pageCount": pages,
        "firstUri": uri(1),
        "selfUri": uri(number),
        "lastUri": uri(pages),
    }
    if number < pages:
        listing["nextUri"] = uri(number + 1)
    if number > 1:
        listing["previousUri"] = uri(number - 1)
    return listing


def cursor_listing(
    path: str, params: Mapping[str, str], count: int, fetch: Callable[[range], Sequence[Record]]
) -> Record:
    """One page of a scan (``CursorContactListing``): ``limit`` 10-200 and ``cursor``."""
    limit = int_param(params, "limit", default=100, low=1, high=200, invalid=bad_request)
    start = 0
    cursor = params.get("cursor")
    if cursor:
        decoded = SCAN_CURSOR.decode(cursor)
        if decoded is None or not 0 <= decoded <= count:
            raise bad_request("the cursor is not a cursor of this scan")
        start = decoded
    end = min(start + limit, count)
    listing: Record = {
        "entities": list(fetch(range(start, end))),
        "selfUri": f"{path}?{urlencode(dict(params))}",
    }
    if end < count:
        after = SCAN_CURSOR.encode(end)
        listing["cursors"] = {"after": after}
        listing["nextUri"] = f"{path}?{urlencode({'limit': limit, 'cursor': after})}"
    return listing
