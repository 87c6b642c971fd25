"""Twilio's list pages: newest first, ``PageSize``/``Page``/``PageToken``, and the two
envelopes: the 2010 API's (``next_page_uri`` relative to the host) and v1's (``meta`` with
absolute ``next_page_url`` and ``key``).

A ``PageToken`` is ``PA`` followed by the sid of the last record of the previous page (the
shape Twilio's tokens have), so a page is found again from the token alone, whatever was
created meanwhile. The sandbox leaves ``previous_page_uri``/``previous_page_url`` null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from hub.sandbox.pipeline import VendorApiError

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
PAGING_PARAMS = ("PageSize", "Page", "PageToken")


def bad_request(message: str, code: int = 20001) -> VendorApiError:
    """A 400 in Twilio's shape; 20001 is Twilio's generic "bad request" code."""
    return VendorApiError(400, str(code), message)


@dataclass(frozen=True)
class PageAsk:
    """What a list request asks for: the page size and number, and where it continues."""

    size: int
    number: int
    after_sid: str | None  # the last record of the previous page, from ``PageToken``
    filters: dict[str, str]  # the query without the paging parameters, kept in page links


def page_ask(params: Mapping[str, str]) -> PageAsk:
    """The paging parameters of a list request. ``PageSize`` above 1,000 is read as 1,000
    (the SDK sends its ``limit`` as the page size) [uncertain: Twilio's own answer to it]."""
    try:
        size = int(params.get("PageSize") or DEFAULT_PAGE_SIZE)
        number = int(params.get("Page") or 0)
    except ValueError:
        raise bad_request("PageSize and Page must be integers") from None
    if size < 1 or number < 0:
        raise bad_request("PageSize must be at least 1 and Page at least 0")
    token = params.get("PageToken")
    if token is not None and (not token.startswith("PA") or len(token) != 36):
        raise bad_request("Invalid PageToken")
    filters = {k: v for k, v in params.items() if k not in PAGING_PARAMS}
    return PageAsk(min(size, MAX_PAGE_SIZE), number, token[2:] if token else None, filters)


def walk_down(
    top: int, low: int, size: int, accept: Callable[[int], bool]
) -> tuple[list[int], bool]:
    """Up to ``size`` accepted positions from ``top - 1`` down to ``low``, newest first, and
    whether an accepted one is left below them."""
    found: list[int] = []
    position = top - 1
    while position >= low:
        if accept(position):
            if len(found) == size:
                return found, True
            found.append(position)
        position -= 1
    return found, False


def day_or_time(raw: str, name: str) -> tuple[int, bool]:
    """A filter value (``2024-01-02`` or ``2024-01-02T03:04:05Z``) as epoch seconds, and
    whether it named a whole day."""
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
            return int(day.timestamp()), True
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{name} must be a date YYYY-MM-DD or an ISO-8601 time") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()), False


def date_range(filters: Mapping[str, str], name: str) -> tuple[int | None, int | None]:
    """``[low, high)`` epoch seconds from ``Name>`` (on or after), ``Name<`` (on or before)
    and ``Name`` (that day), as Twilio reads ``DateSent>=...`` on the wire."""
    low: int | None = None
    high: int | None = None
    if (raw := filters.get(f"{name}>")) is not None:
        low, _ = day_or_time(raw, f"{name}>")
    if (raw := filters.get(f"{name}<")) is not None:
        at, whole_day = day_or_time(raw, f"{name}<")
        high = at + 86_400 if whole_day else at + 1
    if (raw := filters.get(name)) is not None:
        at, whole_day = day_or_time(raw, name)
        low, high = at, at + (86_400 if whole_day else 1)
    return low, high


def legacy_page(
    key: str, records: list[dict[str, Any]], *, path: str, ask: PageAsk, more: bool
) -> dict[str, Any]:
    """The 2010 API's list envelope; page links are relative to the host."""
    start = ask.number * ask.size
    first, current, following = _links(path, ask, records, more)
    return {
        key: records,
        "end": start + max(len(records) - 1, 0),
        "first_page_uri": first,
        "next_page_uri": following,
        "page": ask.number,
        "page_size": ask.size,
        "previous_page_uri": None,
        "start": start,
        "uri": current,
    }


def v1_page(
    key: str, records: list[dict[str, Any]], *, url: str, ask: PageAsk, more: bool
) -> dict[str, Any]:
    """A v1 API's list envelope: ``meta`` with absolute URLs and the records' ``key``."""
    first, current, following = _links(url, ask, records, more)
    return {
        key: records,
        "meta": {
            "page": ask.number,
            "page_size": ask.size,
            "first_page_url": first,
            "previous_page_url": None,
            "url": current,
            "next_page_url": following,
            "key": key,
        },
    }


def _links(
    where: str, ask: PageAsk, records: list[dict[str, Any]], more: bool
) -> tuple[str, str, str | None]:
    """The first, this and the next page's links, the filters kept in each."""

    def link(number: int, token: str | None) -> str:
        query: dict[str, Any] = {**ask.filters, "PageSize": ask.size, "Page": number}
        if token is not None:
            query["PageToken"] = token
        return f"{where}?{urlencode(query)}"

    current = link(ask.number, None if ask.after_sid is None else f"PA{ask.after_sid}")
    following = link(ask.number + 1, f"PA{records[-1]['sid']}") if more and records else None
    return link(0, None), current, following
