"""The Salesforce REST API emulator: OAuth, SOQL query/queryAll, sObject reads and writes
(upsert by external id included), the daily API allowance and its ``Sforce-Limit-Info``
header, and Salesforce-shaped errors (JSON arrays of ``{message, errorCode, fields}``).
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.salesforce.sandbox.auth import SalesforceAuth, key_pair, session_expired
from connectors.salesforce.sandbox.objects import (
    EPOCH,
    SalesforceOrg,
    SObjectTable,
    public,
    sf_datetime,
)
from connectors.salesforce.sandbox.query import MAX_BATCH, QueryEngine, render_record
from hub.sandbox.app import SandboxApp
from hub.sandbox.data import derived_secret
from hub.sandbox.faults import FaultResponder
from hub.sandbox.limits import LimitDecision, RollingWindowLimiter
from hub.sandbox.oauth import TokenIssuer
from hub.sandbox.options import SandboxOptions
from hub.sandbox.pipeline import Decisions, Handler, Limit, RequestPipeline, VendorApiError

DAY = 86_400
RELAXED_DAILY = 100_000_000
# The canonical object type of each sObject, as the connector's streams store it.
OBJECT_TYPES = {"Account": "account", "Contact": "contact", "Case": "case",
                "Entitlement": "entitlement", "ServiceContract": "service_contract",
                "Asset": "asset", "Product2": "product", "User": "user"}  # fmt: skip
API_VERSIONS = ("58.0", "59.0", "60.0", "62.0", "64.0", "66.0", "67.0")


def error_body(status: int, code: str, message: str, fields: Any = None) -> Response:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return JSONResponse([item], status_code=status)


class SalesforceFaults(FaultResponder):
    """Injected faults in Salesforce's shapes, each with the org's ``Sforce-Limit-Info``
    (``usage`` renders it). The core REST API signals its limits with 403 and no
    Retry-After; the kit's shared 429 fault is kept so every sandbox takes the same
    ``--faults``."""

    def __init__(self, usage: Callable[[], str]) -> None:
        self._usage = usage

    def rate_limited(self, retry_after: float) -> Response:
        response = self._with_usage(error_body(429, "TOO_MANY_REQUESTS", "Too many requests"))
        response.headers["Retry-After"] = str(max(1, round(retry_after)))
        return response

    def server_error(self, status: int) -> Response:
        return self._with_usage(
            error_body(status, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        )

    def token_expired(self) -> Response:
        return self._with_usage(session_expired())

    def _with_usage(self, response: Response) -> Response:
        response.headers["Sforce-Limit-Info"] = self._usage()
        return response


class SalesforceOptions(SandboxOptions):
    client_id: str = Field("hub-sandbox-connected-app", description="Connected app consumer key.")
    client_secret: str | None = Field(
        None, description="Consumer secret (default: derived from the seed)."
    )
    username: str = Field("integration@sandbox-org.example", description="JWT bearer subject.")
    session_ttl_seconds: int = Field(7200, ge=1, description="Session timeout of the org.")
    daily_api_requests: int = Field(15_000, ge=1, description="The org's 24-hour API allowance.")


class SalesforceSandbox(SandboxApp):
    """A Service Cloud org: Accounts, Contacts, Products, Assets, Entitlements, Service
    Contracts, Cases and Users, generated lazily. ``clock`` (the server clock) is for tests."""

    vendor = "salesforce"
    options_model = SalesforceOptions
    demo_port = 8102

    def __init__(
        self,
        *,
        records: int,
        seed: int,
        faults: str | None = None,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        opts = self.parse_options(SalesforceOptions, options)
        secret = opts.client_secret or derived_secret("salesforce", seed, "client_secret")
        private_key, public_key = key_pair()
        super().__init__(
            seed=seed,
            faults=faults,
            credentials={
                "client_id": opts.client_id,
                "client_secret": secret,
                "username": opts.username,
                "private_key": private_key,
            },
        )
        self.clock = clock
        self.relaxed_limits = opts.relaxed_limits
        self.org = SalesforceOrg(records=records, seed=seed, clock=clock)
        self.queries = QueryEngine(self.org)
        self.auth = SalesforceAuth(
            issuer=TokenIssuer(access_ttl=opts.session_ttl_seconds, refresh_ttl=1, clock=clock),
            client_id=opts.client_id,
            client_secret=secret,
            username=opts.username,
            public_key_pem=public_key,
        )
        daily = RELAXED_DAILY if opts.relaxed_limits else opts.daily_api_requests
        # Salesforce counts the allowance over the last 24 hours, not per calendar day.
        self.allowance = RollingWindowLimiter(daily, window_seconds=DAY, clock=clock)
        self.pipeline = RequestPipeline(
            authenticate=self._authenticate,
            render_error=lambda e: error_body(e.status, e.code, e.message, e.details),
            limits=[Limit("daily", self.allowance, self._limit_exceeded)],
            headers=lambda decisions: {"Sforce-Limit-Info": self._usage(decisions["daily"])},
        )

    def server_time(self) -> float:
        return self.clock()

    # -- SandboxApp ---------------------------------------------------------------------------

    def fault_responder(self) -> FaultResponder:
        return SalesforceFaults(lambda: self._usage(self.allowance.peek()))

    def connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        """Client credentials against this org (the sessions expire: 401 INVALID_SESSION_ID)."""
        return {"base_url": base_url, "verify_tls": ca_file if ca_file else True,
                "client_id": self.credentials["client_id"],
                "client_secret": self.credentials["client_secret"]}  # fmt: skip

    def oauth_connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        return self.connection_config(base_url, ca_file)

    def jwt_connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        """The JWT bearer flow: the integration user and the connected app's private key."""
        config = self.connection_config(base_url, ca_file)
        del config["client_secret"]
        return {**config, "username": self.credentials["username"],
                "private_key": self.credentials["private_key"]}  # fmt: skip

    def mutate(self, count: int) -> list[str]:
        """Move ``count`` records on: cases to their next status, contacts to a new title."""
        changed = []
        for n in range(count):
            sobject = ("Case", "Contact")[n % 2]
            table = self.org.tables[sobject]
            record = table.get(table.sf_id(n // 2 % table.records.count + 1))
            if record is None:
                continue
            if sobject == "Case":
                statuses = ("New", "Working", "Escalated", "Closed")
                status = statuses[(statuses.index(record["Status"]) + 1) % len(statuses)]
                record = {**record, "Status": status, "IsClosed": status == "Closed"}
            else:
                record = {**record, "Title": f"{record['Title'] or 'Contact'} (changed)"}
            table.save(record)
            changed.append(f"{OBJECT_TYPES[sobject]}/{record['Id']}")
        return changed

    # -- test hooks: what a real org does that a client cannot ask for ------------------------

    def delete(self, sobject: str, sf_id: str) -> None:
        """Delete a record (to the Recycle Bin: ``queryAll`` still returns it)."""
        table = self.org.tables[sobject]
        record = table.get(sf_id)
        if record is None:
            raise KeyError(sf_id)
        table.save({**record, "IsDeleted": True})

    def write_uncommitted(self, sobject: str, sf_id: str, changes: dict[str, Any]) -> None:
        """Change a record in a transaction that has not committed yet: its SystemModstamp is
        now, but no query sees it until :meth:`commit` (the late-commit case)."""
        table = self.org.tables[sobject]
        record = table.get(sf_id)
        if record is None:
            raise KeyError(sf_id)
        saved = table.save({**record, **changes})
        self.org.pending.add((sobject, saved["_number"]))

    def commit(self) -> None:
        self.org.pending.clear()

    # -- routes -------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        api, data = self.pipeline.wrap, "/services/data/{version}"
        return [
            Route("/services/oauth2/token", self.auth.token, methods=["POST"]),
            Route("/services/data", self._versions),
            Route("/services/data/", self._versions),
            Route(f"{data}/limits", api(self._limits)),
            *[Route(f"{data}/{kind}{slash}", api(self._query(kind == "queryAll")))
              for kind in ("query", "queryAll") for slash in ("", "/")],
            *[Route(f"{data}/{kind}/{{locator}}", api(self._more))
              for kind in ("query", "queryAll")],
            Route(f"{data}/sobjects/{{sobject}}", api(self._create), methods=["POST"]),
            *[Route(f"{data}/sobjects/{{sobject}}/{kind}{slash}", api(self._changes(kind)))
              for kind in ("updated", "deleted") for slash in ("", "/")],
            Route(f"{data}/sobjects/{{sobject}}/{{record_id}}", api(self._show)),
            Route(f"{data}/sobjects/{{sobject}}/{{record_id}}", api(self._update),
                  methods=["PATCH"]),
            Route(f"{data}/sobjects/{{sobject}}/{{record_id}}", api(self._delete),
                  methods=["DELETE"]),
            Route(f"{data}/sobjects/{{sobject}}/{{field}}/{{value}}", api(self._upsert),
                  methods=["PATCH"]),
            Route("/{path:path}", _not_found, methods=["GET", "POST", "PATCH", "DELETE"]),
        ]  # fmt: skip

    # -- limits -------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> Response | None:
        """A refused session is answered with the org's usage too: Salesforce sends
        ``Sforce-Limit-Info`` on every API answer, 401s included (not counted here)."""
        refused = self.auth.check(request)
        if refused is not None:
            refused.headers["Sforce-Limit-Info"] = self._usage(self.allowance.peek())
        return refused

    def routing_error(self, request: Request, status: int) -> Response | None:
        if status == 405:
            message = f"HTTP Method '{request.method}' not allowed."
            return error_body(405, "METHOD_NOT_ALLOWED", message)
        return error_body(status, "NOT_FOUND", "The requested resource does not exist")

    def _usage(self, decision: LimitDecision) -> str:
        return f"api-usage={decision.limit - decision.remaining}/{decision.limit}"

    def _limit_exceeded(self, decision: LimitDecision, taken: Decisions) -> Response:
        response = error_body(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        response.headers["Sforce-Limit-Info"] = self._usage(decision)
        return response

    async def _limits(self, request: Request) -> Response:
        _version(request)
        state = self.allowance.peek()
        return JSONResponse({"DailyApiRequests": {"Max": state.limit,
                                                  "Remaining": state.remaining}})  # fmt: skip

    async def _versions(self, request: Request) -> Response:
        return JSONResponse([{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v}
                             for v in API_VERSIONS])  # fmt: skip

    # -- queries ------------------------------------------------------------------------------

    def _query(self, include_deleted: bool) -> Handler:
        async def run(request: Request) -> Response:
            base = _version(request)
            soql = request.query_params.get("q")
            if not soql:
                raise VendorApiError(400, "MALFORMED_QUERY", "A query string (q) is required")
            page = self.queries.run(soql, include_deleted=include_deleted,
                                    batch=_batch_size(request), base=base,
                                    hidden=self.org.pending)  # fmt: skip
            return JSONResponse(page)

        return run

    async def _more(self, request: Request) -> Response:
        base = _version(request)
        locator = request.path_params["locator"]
        return JSONResponse(self.queries.more(locator, batch=_batch_size(request), base=base))

    # -- changed and deleted ids ------------------------------------------------------------

    def _changes(self, kind: str) -> Handler:
        """``/updated/`` and ``/deleted/`` of ``[start, end]``: ids, not records.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
        """

        async def changes(request: Request) -> Response:
            _version(request)
            table = self._table(request)
            start, end = _instant(request, "start"), _instant(request, "end")
            if end < start:
                raise VendorApiError(400, "INVALID_REPLICATION_DATE", "end is before start")
            found = changed_between(table, start, end, deleted=kind == "deleted")
            covered = sf_datetime(end)
            if kind == "updated":
                return JSONResponse({"ids": [r["Id"] for r in found],
                                     "latestDateCovered": covered})  # fmt: skip
            deleted = [{"id": r["Id"], "deletedDate": r["SystemModstamp"]} for r in found]
            return JSONResponse({"deletedRecords": deleted,
                                 "earliestDateAvailable": sf_datetime(EPOCH),
                                 "latestDateCovered": covered})  # fmt: skip

        return changes

    # -- sObjects -----------------------------------------------------------------------------

    def _table(self, request: Request) -> SObjectTable:
        name = request.path_params["sobject"]
        table = self.org.tables.get(name)
        if table is None:
            raise VendorApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return table

    async def _show(self, request: Request) -> Response:
        base, table = _version(request), self._table(request)
        record = table.get(request.path_params["record_id"])
        if record is None:
            raise VendorApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return JSONResponse(render_record(table, record, base))

    async def _create(self, request: Request) -> Response:
        _version(request)
        table = self._table(request)
        values = _writable(table, await _json_object(request), creating=True)
        record = table.create(_derived(table, values))
        return JSONResponse({"id": record["Id"], "success": True, "errors": []}, 201)

    async def _update(self, request: Request) -> Response:
        _version(request)
        table = self._table(request)
        record = table.get(request.path_params["record_id"])
        if record is None:
            raise VendorApiError(404, "NOT_FOUND", "The requested resource does not exist")
        values = _writable(table, await _json_object(request), creating=False)
        table.save(_derived(table, {**public(record), **values}))
        return Response(status_code=204)

    async def _delete(self, request: Request) -> Response:
        _version(request)
        table = self._table(request)
        record = table.get(request.path_params["record_id"])
        if record is None:
            raise VendorApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        table.save({**record, "IsDeleted": True})
        return Response(status_code=204)

    async def _upsert(self, request: Request) -> Response:
        """Upsert by external id: 201 created, 200 updated, 300 when several records match.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
        """
        base = _version(request)
        table = self._table(request)
        field, value = request.path_params["field"], request.path_params["value"]
        if field not in table.external_ids:
            raise VendorApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field}",
            )
        values = _writable(table, await _json_object(request), creating=True)
        if field in values and values[field] != value:
            raise VendorApiError(400, "INVALID_FIELD", f"{field} is also in the URL", [field])
        matches = table.matching(field, value)
        if len(matches) > 1:
            urls = [f"{base}/sobjects/{table.name}/{sf_id}" for sf_id in matches]
            return JSONResponse(urls, 300)
        if matches:
            record = table.get(matches[0])
            assert record is not None
            table.save(_derived(table, {**public(record), **values}))
            return JSONResponse({"id": matches[0], "success": True, "errors": [],
                                 "created": False})  # fmt: skip
        record = table.create(_derived(table, {**values, field: value}))
        body = {"id": record["Id"], "success": True, "errors": [], "created": True}
        return JSONResponse(body, 201)


def _version(request: Request) -> str:
    """``/services/data/vXX.X`` of the request, or 404 for a version the org does not serve."""
    version = request.path_params.get("version", "")
    if not version.startswith("v") or version[1:] not in API_VERSIONS:
        raise VendorApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return f"/services/data/{version}"


def _instant(request: Request, name: str) -> int:
    value = request.query_params.get(name, "")
    try:
        return int(datetime.fromisoformat(value).timestamp())
    except ValueError:
        message = f"{name} must be an ISO-8601 dateTime such as 2026-01-15T10:30:00Z"
        raise VendorApiError(400, "INVALID_REPLICATION_DATE", message) from None


def changed_between(
    table: SObjectTable, start: int, end: int, *, deleted: bool
) -> list[dict[str, Any]]:
    """Records whose last change (a deletion, with ``deleted``) lies in ``[start, end]``."""
    timeline, found = table.records.timeline, []
    position = timeline.position_at(start)
    while position < len(timeline):
        entry = timeline.entry(position)
        position += 1
        if entry is None:
            continue
        if entry.ts > end:
            break
        record = table.records.at(entry)
        if bool(record["IsDeleted"]) == deleted:
            found.append(record)
    return found


def _batch_size(request: Request) -> int:
    """``Sforce-Query-Options: batchSize=N`` (a hint: at most 2,000 rows a page)."""
    for option in request.headers.get("sforce-query-options", "").split(","):
        name, _, value = option.strip().partition("=")
        if name.strip() == "batchSize" and value.strip().isdigit():
            return int(value)
    return MAX_BATCH


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise VendorApiError(400, "JSON_PARSER_ERROR", "The request body is not a JSON object")
    return body


def _writable(table: SObjectTable, values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    values = {k: v for k, v in values.items() if k != "attributes"}
    for name in values:
        if name not in table.fields:
            raise VendorApiError(
                400,
                "INVALID_FIELD",
                f"No such column '{name}' on sobject of type {table.name}",
                [name],
            )
        if name not in table.writable:
            code = "INVALID_FIELD_FOR_INSERT_UPDATE"
            raise VendorApiError(400, code, f"Unable to create/update fields: {name}", [name])
    missing = [name for name in table.required if creating and not values.get(name)]
    if missing:
        message = f"Required fields are missing: [{', '.join(missing)}]"
        raise VendorApiError(400, "REQUIRED_FIELD_MISSING", message, missing)
    return values


def _derived(table: SObjectTable, record: dict[str, Any]) -> dict[str, Any]:
    """Computed fields: a contact's Name, a case's IsClosed and CaseNumber."""
    if table.name == "Contact":
        record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
    if table.name == "Case":
        record["Status"] = record.get("Status") or "New"
        record["IsClosed"] = record["Status"] == "Closed"
        record.setdefault("CaseNumber", None)
        if not record.get("CaseNumber"):
            record["CaseNumber"] = f"{table.records.next_id:08d}"
    return record


async def _not_found(request: Request) -> Response:
    return error_body(404, "NOT_FOUND", "The requested resource does not exist")
