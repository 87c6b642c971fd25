"""Running SOQL against the sandbox org: ``query`` and ``queryAll``, paged by query locators.

A query's result set is fixed when it runs (Salesforce keeps it server-side behind the query
locator): the sandbox stores the matching positions of the change timeline and serves them in
batches of at most 2,000 (``Sforce-Query-Options: batchSize=N`` asks for fewer), each page
naming the next one in ``nextRecordsUrl`` (server-relative, ``/query/{locator}-{offset}``).
Rows are found by one pass over the timeline from the lower ``SystemModstamp`` bound, so a
windowed incremental query costs what its window holds.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from connectors.salesforce.sandbox.objects import (
    Record,
    SalesforceOrg,
    SObjectTable,
    public,
    sf_datetime,
)
from connectors.salesforce.sandbox.soql import (
    AllOf,
    AnyOf,
    Condition,
    Expr,
    NotOf,
    Query,
    SoqlError,
    conditions,
    parse,
)
from hub.sandbox.pipeline import VendorApiError
from hub.sandbox.timeline import Entry

MAX_BATCH = 2000
MIN_BATCH = 1  # Salesforce takes 200 to 2,000; the sandbox also smaller sizes, for tests
_KEPT_LOCATORS = 2000  # older locators are forgotten too
# A query locator unused this long is gone: Salesforce expires idle cursors after 15 minutes.
LOCATOR_IDLE_SECONDS = 15 * 60


@dataclass
class _ResultSet:
    query: Query
    table: SObjectTable
    fields: tuple[str, ...]
    positions: list[int]
    used_at: float


def malformed(message: str) -> VendorApiError:
    return VendorApiError(400, "MALFORMED_QUERY", message)


class QueryEngine:
    """Runs queries and serves their further pages."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org
        self._results: dict[str, _ResultSet] = {}
        self._serial = itertools.count(1)

    def run(
        self,
        soql: str,
        *,
        include_deleted: bool,
        batch: int,
        base: str,
        hidden: Collection[tuple[str, int]] = (),
    ) -> dict[str, Any]:
        """The first page of ``soql``; ``base`` is ``/services/data/vXX.X``. ``hidden`` are
        records (object, number) written by transactions that have not committed yet."""
        try:
            query = parse(soql)
        except SoqlError as error:
            raise malformed(str(error)) from None
        table = self.org.tables.get(query.sobject)
        if table is None:
            raise VendorApiError(
                400, "INVALID_TYPE", f"sObject type '{query.sobject}' is not supported."
            )
        fields = tuple(_field(table, name) for name in query.fields)
        for condition in _all_conditions(query):
            _field(table, condition.field)
        for order in query.order_by:
            _field(table, order.field)
        positions = self._matching(table, query, include_deleted, hidden)
        locator = f"01g{next(self._serial):012d}"
        self._results[locator] = _ResultSet(query, table, fields, positions, self.org.clock())
        while len(self._results) > _KEPT_LOCATORS:
            self._results.pop(next(iter(self._results)))
        return self._page(locator, 0, batch, base)

    def more(self, locator_and_offset: str, *, batch: int, base: str) -> dict[str, Any]:
        """A further page: ``{locator}-{offset}`` from a ``nextRecordsUrl``."""
        locator, _, offset = locator_and_offset.rpartition("-")
        result = self._results.get(locator)
        now = self.org.clock()
        if result is None or not offset.isdigit() or now - result.used_at > LOCATOR_IDLE_SECONDS:
            self._results.pop(locator, None)
            raise VendorApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        result.used_at = now
        return self._page(locator, int(offset), batch, base)

    def _page(self, locator: str, offset: int, batch: int, base: str) -> dict[str, Any]:
        result = self._results[locator]
        batch = min(max(batch, MIN_BATCH), MAX_BATCH)
        chosen = result.positions[offset : offset + batch]
        timeline = result.table.records.timeline
        records = []
        for position in chosen:
            entry = timeline.entry(position)
            if entry is None:  # changed since the query ran: Salesforce serves the new values
                continue
            records.append(_render(result.table, result.table.records.at(entry), result.fields,
                                   base))  # fmt: skip
        following = offset + len(chosen)
        page: dict[str, Any] = {"totalSize": len(result.positions),
                                "done": following >= len(result.positions)}  # fmt: skip
        if not page["done"]:
            page["nextRecordsUrl"] = f"{base}/query/{locator}-{following}"
        page["records"] = records
        return page

    def _matching(
        self,
        table: SObjectTable,
        query: Query,
        include_deleted: bool,
        hidden: Collection[tuple[str, int]],
    ) -> list[int]:
        timeline = table.records.timeline
        lower, upper = _stamp_bounds(query.where)
        position = 0 if lower is None else timeline.position_at(int(lower.timestamp()))
        found: list[tuple[Entry, Record]] = []
        # Conditions and order on the stamp alone need no record generated: a generated
        # record's stamp is its timeline time and it is never deleted (deletions are saved).
        fields = {c.field.lower() for c in _all_conditions(query)}
        fields |= {o.field.lower() for o in query.order_by}
        light = fields <= {"systemmodstamp", "isdeleted", "id"}
        while position < len(timeline):
            entry = timeline.entry(position)
            position += 1
            if entry is None or (table.name, entry.record_id) in hidden:
                continue
            if upper is not None and entry.ts > upper.timestamp():
                break
            record = self._view(table, entry, light)
            if record["IsDeleted"] and not include_deleted:
                continue
            if all(_holds(table, record, condition) for condition in query.where):
                found.append((entry, record))
        order = query.order_by
        by_stamp = not order or order[0].field.lower() == "systemmodstamp"
        if not by_stamp or any(o.descending for o in order):
            for key in reversed(order):
                name = _field(table, key.field)
                found.sort(key=lambda pair: _sort_key(pair[1].get(name)), reverse=key.descending)
        positions = [entry.position for entry, _ in found]
        return positions if query.limit is None else positions[: query.limit]

    @staticmethod
    def _view(table: SObjectTable, entry: Entry, light: bool) -> Record:
        if light and entry.index is not None and not table.records.changed(entry.record_id):
            stamp = sf_datetime(entry.ts)
            return {"Id": table.sf_id(entry.record_id), "IsDeleted": False, "SystemModstamp": stamp}
        return table.records.at(entry)


def _field(table: SObjectTable, name: str) -> str:
    for known in table.fields:
        if known.lower() == name.lower():
            return known
    raise VendorApiError(
        400, "INVALID_FIELD", f"No such column '{name}' on entity '{table.name}'.", [name]
    )


def _all_conditions(query: Query) -> list[Condition]:
    return [found for expr in query.where for found in conditions(expr)]


def _stamp_bounds(where: tuple[Expr, ...]) -> tuple[datetime | None, datetime | None]:
    """The tightest ``SystemModstamp`` range the top-level conditions allow (for where to
    start and stop scanning; every condition is still checked on each row). A condition
    under OR or NOT bounds nothing."""
    lower = upper = None
    for condition in where:
        if not isinstance(condition, Condition):
            continue
        if condition.field.lower() != "systemmodstamp" or not isinstance(condition.value, datetime):
            continue
        if condition.op in (">", ">=", "="):
            lower = condition.value if lower is None else max(lower, condition.value)
        if condition.op in ("<", "<=", "="):
            upper = condition.value if upper is None else min(upper, condition.value)
    return lower, upper


def _holds(table: SObjectTable, record: Record, expr: Expr) -> bool:
    if isinstance(expr, AllOf):
        return all(_holds(table, record, part) for part in expr.parts)
    if isinstance(expr, AnyOf):
        return any(_holds(table, record, part) for part in expr.parts)
    if isinstance(expr, NotOf):
        return not _holds(table, record, expr.part)
    value = record.get(_field(table, expr.field))
    if expr.op in ("in", "not in"):
        found = any(_compare(value, "=", item) for item in expr.value)
        return found if expr.op == "in" else not found
    return _compare(value, expr.op, expr.value)


def _compare(value: Any, op: str, literal: Any) -> bool:
    if literal is None or value is None:
        same = value is None and literal is None
        return same if op == "=" else (not same if op == "!=" else False)
    if isinstance(literal, datetime):
        value = datetime.fromisoformat(value).astimezone(UTC) if isinstance(value, str) else None
    elif isinstance(literal, date):
        value = date.fromisoformat(value) if isinstance(value, str) else None
    if value is None or isinstance(value, bool) != isinstance(literal, bool):
        raise VendorApiError(400, "INVALID_FIELD", "value of filter criterion is of the wrong type")
    try:
        return bool({"=": value == literal, "!=": value != literal, "<": value < literal,
                     "<=": value <= literal, ">": value > literal,
                     ">=": value >= literal}[op])  # fmt: skip
    except TypeError:
        raise VendorApiError(
            400, "INVALID_FIELD", "value of filter criterion is of the wrong type"
        ) from None


def _sort_key(value: Any) -> tuple[int, Any]:
    return (1, "") if value is None else (0, str(value))  # nulls last, as SOQL sorts by default


def _render(table: SObjectTable, record: Record, fields: tuple[str, ...], base: str) -> Record:
    shown = public(record)
    url = f"{base}/sobjects/{table.name}/{shown['Id']}"
    row: Record = {"attributes": {"type": table.name, "url": url}}
    for name in fields:
        row[name] = shown.get(name)
    return row


def render_record(table: SObjectTable, record: Record, base: str) -> Record:
    """A whole record, as ``GET /sobjects/{object}/{id}`` answers it."""
    return _render(table, record, table.fields, base)
