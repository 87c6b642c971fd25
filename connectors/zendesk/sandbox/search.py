"""A subset of Zendesk's search query language, evaluated over the sandbox's records.

Supported: ``type:ticket|user|organization|group``; ``field:value`` equality on any top-level
field (``status:open``, ``role:agent``, ``email:x@y``), with the usual aliases (``requester``,
``assignee``, ``group``, ``organization``, ``form``, ``ticket_type``); ``tags:``/``tag:``;
``<``, ``>``, ``<=``, ``>=`` on ``status`` and ``priority`` (in Zendesk's order) and on
``created``/``updated`` with a date or an ISO-8601 time; ``-`` to negate a term; free words
and "quoted phrases" matched case-insensitively against the record's text. Results come in
type order (tickets, users, organizations, groups), each by id, rather than by relevance.
See https://support.zendesk.com/hc/en-us/articles/4408886879258 (search reference) and
https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/ .

Search has no index here: a request examines at most ``SCAN_MAX`` records, so at large
sizes a rare match may be missed and ``count`` is extrapolated from the records examined
(both documented limitations of the emulator).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.zendesk.sandbox.paging import ZendeskError
from connectors.zendesk.sandbox.records import PRIORITIES, STATUSES

SCAN_MAX = 10_000
RESULT_TYPES = ("ticket", "user", "organization", "group")
_ORDERED = {"status": STATUSES, "priority": tuple(reversed(PRIORITIES))}
_ALIASES = {
    "requester": "requester_id",
    "submitter": "submitter_id",
    "assignee": "assignee_id",
    "group": "group_id",
    "organization": "organization_id",
    "form": "ticket_form_id",
    "ticket_type": "type",
    "tag": "tags",
    "created": "created_at",
    "updated": "updated_at",
}
_TEXT_FIELDS = {
    "ticket": ("subject", "description", "tags"),
    "user": ("name", "email", "phone", "tags"),
    "organization": ("name", "domain_names", "tags"),
    "group": ("name", "description"),
}
_TERM = re.compile(r"^(?P<neg>-?)(?P<key>[a-z_]+)(?P<op>:|<=|>=|<|>)(?P<value>.+)$")


def invalid_search(reason: str) -> ZendeskError:
    # [uncertain] Zendesk's exact status and code for a query it cannot parse.
    return ZendeskError(400, "invalid", f"Invalid search: {reason}")


@dataclass(frozen=True)
class Term:
    """One condition of a query; ``key`` is None for free text."""

    key: str | None
    op: str
    value: str
    negated: bool

    def matches(self, record: dict[str, Any], result_type: str) -> bool:
        found = self._matches(record, result_type)
        return not found if self.negated else found

    def _matches(self, record: dict[str, Any], result_type: str) -> bool:
        if self.key is None:
            needle = self.value.casefold()
            return any(needle in _text(record.get(f)) for f in _TEXT_FIELDS[result_type])
        if self.key in ("created_at", "updated_at"):
            return _compare_time(record.get(self.key), self.op, self.value)
        if self.key in _ORDERED and self.op != ":":
            return _compare_ordered(_ORDERED[self.key], record.get(self.key), self.op, self.value)
        if self.op != ":":
            raise invalid_search(f"{self.key} does not support {self.op}")
        value = record.get(self.key)
        wanted = self.value.casefold()
        if isinstance(value, list):
            return any(str(v).casefold() == wanted for v in value)
        if value is None:
            return wanted == "none"
        return str(value).casefold() == wanted


@dataclass(frozen=True)
class Query:
    """A parsed query: the result types it allows and the terms every result must meet."""

    types: tuple[str, ...]
    terms: tuple[Term, ...]

    def matches(self, record: dict[str, Any], result_type: str) -> bool:
        return all(term.matches(record, result_type) for term in self.terms)


def parse_query(raw: str) -> Query:
    """Parse ``raw`` into the result types it names and its terms."""
    try:
        tokens = shlex.split(raw)
    except ValueError:
        raise invalid_search("unbalanced quotes") from None
    types: list[str] = []
    terms: list[Term] = []
    for token in tokens:
        match = _TERM.match(token)
        if match is None:
            negated = token.startswith("-") and len(token) > 1
            terms.append(Term(None, ":", token[1:] if negated else token, negated))
            continue
        key = _ALIASES.get(match["key"], match["key"])
        if key == "type":
            if match["value"] not in RESULT_TYPES:
                raise invalid_search(f"unknown type {match['value']!r}")
            types.append(match["value"])
            continue
        terms.append(Term(key, match["op"], match["value"], bool(match["neg"])))
    return Query(tuple(types) or RESULT_TYPES, tuple(terms))


@dataclass(frozen=True)
class Collection:
    """The records of one result type as positions ``[low, high)`` and a reader."""

    result_type: str
    low: int
    high: int
    read: Callable[[int], dict[str, Any] | None]  # None for a position with no live record


@dataclass(frozen=True)
class Hit:
    result_type: str
    position: int
    record: dict[str, Any]


@dataclass(frozen=True)
class Scan:
    """Matches found by one bounded scan, where it stopped, and an estimated total."""

    hits: list[Hit]
    next_position: int  # within the last collection scanned
    finished: bool
    estimated_total: int


def scan(
    query: Query,
    collections: list[Collection],
    *,
    start: int | None = None,
    want: int | None = None,
    budget: int = SCAN_MAX,
) -> Scan:
    """Examine records in order, at most ``budget`` of them, stopping after ``want`` hits."""
    hits: list[Hit] = []
    examined = total = 0
    position = 0
    finished = True
    for collection in collections:
        total += collection.high - collection.low
        if not finished:
            continue
        for position, record in _records(collection, start):
            if (want is not None and len(hits) >= want) or examined >= budget:
                finished = False
                break
            examined += 1
            if record is not None and query.matches(record, collection.result_type):
                hits.append(Hit(collection.result_type, position, record))
        else:
            position = collection.high
    estimated = len(hits) if finished else len(hits) * total // max(examined, 1)
    return Scan(hits, position, finished, estimated)


def _records(
    collection: Collection, start: int | None
) -> Iterator[tuple[int, dict[str, Any] | None]]:
    first = collection.low if start is None else max(start, collection.low)
    for position in range(first, collection.high):
        yield position, collection.read(position)


def _text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value).casefold()
    return "" if value is None else str(value).casefold()


def _parse_time(raw: str) -> tuple[datetime, timedelta]:
    """A query time and its granularity: a whole day for a date, a second otherwise."""
    try:
        if len(raw) == 10:
            return datetime.fromisoformat(raw).replace(tzinfo=UTC), timedelta(days=1)
        return datetime.fromisoformat(raw.replace("Z", "+00:00")), timedelta(seconds=1)
    except ValueError:
        raise invalid_search(f"{raw!r} is not a date (YYYY-MM-DD) or ISO-8601 time") from None


def _compare_time(stamp: object, op: str, raw: str) -> bool:
    if not isinstance(stamp, str):
        return False
    at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    start, width = _parse_time(raw)
    end = start + width
    return {
        ":": start <= at < end,
        ">": at >= end,
        ">=": at >= start,
        "<": at < start,
        "<=": at < end,
    }[op]


def _compare_ordered(order: tuple[str, ...], value: object, op: str, raw: str) -> bool:
    if raw not in order:
        raise invalid_search(f"{raw!r} is not one of {', '.join(order)}")
    if value not in order:
        return False
    have, want = order.index(str(value)), order.index(raw)
    return {">": have > want, ">=": have >= want, "<": have < want, "<=": have <= want}[op]
