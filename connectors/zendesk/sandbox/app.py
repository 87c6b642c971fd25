"""The Zendesk Support API emulator: routes, rate limits, writes and fault responses."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.zendesk.sandbox.auth import ZendeskAuth, invalid_token
from connectors.zendesk.sandbox.paging import (
    IdSpace,
    ZendeskError,
    bad_parameter,
    decode_export_cursor,
    encode_export_cursor,
    int_param,
    list_page,
    url,
)
from connectors.zendesk.sandbox.records import ZendeskRecords, is_deleted, is_rated, ticket_view
from connectors.zendesk.sandbox.state import (
    ZendeskState,
    detail,
    ticket_field_errors,
    valid_email,
)
from hub.sandbox.app import SandboxApp
from hub.sandbox.data import derived_secret
from hub.sandbox.faults import FaultResponder
from hub.sandbox.idempotency import MISMATCH, IdempotencyStore, StoredResponse, fingerprint
from hub.sandbox.limits import LimitDecision, WindowLimiter
from hub.sandbox.oauth import TokenIssuer
from hub.sandbox.options import SandboxOptions
from hub.sandbox.pipeline import Decisions, Handler, Limit, RequestPipeline, VendorApiError
from hub.sandbox.timeline import Entry, Timeline

EXPORT_PAGE_MAX = 1000
_TICKET_UPDATE_FIELDS = (
    "subject", "status", "priority", "type", "tags", "assignee_id", "external_id",
    "custom_fields", "due_at",
)  # fmt: skip
_USER_FIELDS = ("name", "email", "phone", "external_id", "organization_id", "tags", "user_fields",
                "locale", "time_zone")  # fmt: skip


RELAXED_PER_MINUTE = 1_000_000


class ZendeskFaults(FaultResponder):
    """Injected faults in Zendesk's own shapes."""

    def __init__(self, account_limit: int) -> None:
        self.account_limit = account_limit

    def rate_limited(self, retry_after: float) -> Response:
        # Zendesk sends whole seconds; zenpy only retries when Retry-After is above 0.
        return _too_many_requests(max(1, round(retry_after + 0.5)), self.account_limit)

    def server_error(self, status: int) -> Response:
        if status == 502:  # comes from the load balancer, not the app: HTML, not JSON
            return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>", 502)
        error = "ServiceUnavailable" if status == 503 else "InternalServerError"
        return JSONResponse({"error": error, "description": "Please try again later"}, status)

    def token_expired(self) -> Response:
        return invalid_token()


def _too_many_requests(retry_after: int, account_limit: int, **extra: str) -> Response:
    # Not Zendesk's JSON error shape: its rate limiter answers in plain text (Zendesk's
    # "Best practices for avoiding rate limiting" and vendor-apis.md 3.4 show such a 429).
    return PlainTextResponse(
        "Number of allowed API requests per minute exceeded",
        status_code=429,
        headers={
            "Retry-After": str(retry_after),
            "X-Rate-Limit": str(account_limit),
            "X-Rate-Limit-Remaining": "0",
            **extra,
        },
    )


class ZendeskOptions(SandboxOptions):
    """What ``hub sandbox serve zendesk --option NAME=VALUE`` accepts."""

    subdomain: str = Field("sandbox", description="Account subdomain in records and URLs.")
    email: str = Field("api-admin@sandbox.example", description="Email of the API admin.")
    api_token: str | None = Field(None, description="API token (default: derived from seed).")
    oauth_client_id: str = Field("hub_sandbox", description="OAuth client id.")
    oauth_client_secret: str | None = Field(
        None, description="OAuth client secret (default: derived from the seed)."
    )
    token_ttl_seconds: int = Field(1800, ge=1, description="Access token lifetime.")
    refresh_ttl_seconds: int = Field(30 * 86_400, ge=1, description="Refresh token lifetime.")
    rate_limit_per_minute: int = Field(700, ge=1, description="Account requests per minute.")
    incremental_per_minute: int = Field(10, ge=1, description="Incremental exports per minute.")
    idempotency_ttl_seconds: int = Field(7200, ge=1, description="Idempotency key lifetime.")


class ZendeskSandbox(SandboxApp):
    """Zendesk Support API subset used by the hub and zenpy, with lazily generated data.

    Options are declared in :class:`ZendeskOptions`; ``clock`` (the server clock) is for tests.
    """

    vendor = "zendesk"
    options_model = ZendeskOptions
    demo_port = 8101

    def __init__(
        self,
        *,
        records: int,
        seed: int,
        faults: str | None = None,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        opts = self.parse_options(ZendeskOptions, options)
        # Derived from the seed, so a sandbox served again after `hub demo` accepts the
        # credentials the demo stored. Sandbox credentials guard nothing real.
        api_token = opts.api_token or derived_secret("zendesk", seed, "api_token")
        client_secret = opts.oauth_client_secret or derived_secret(
            "zendesk", seed, "oauth_client_secret"
        )
        per_minute, incremental_per_minute = opts.rate_limit_per_minute, opts.incremental_per_minute
        if opts.relaxed_limits:  # the demo and benchmarks measure the hub, not Zendesk's quotas
            per_minute = incremental_per_minute = RELAXED_PER_MINUTE
        self.options = opts
        self.relaxed_limits = opts.relaxed_limits
        super().__init__(
            seed=seed,
            faults=faults,
            credentials={
                "subdomain": opts.subdomain,
                "email": opts.email,
                "api_token": api_token,
                "oauth_client_id": opts.oauth_client_id,
                "oauth_client_secret": client_secret,
            },
        )
        self.data = ZendeskRecords(
            records=records, seed=seed, admin_email=opts.email, subdomain=opts.subdomain
        )
        self.state = ZendeskState(self.data, clock=clock)
        issuer = TokenIssuer(
            access_ttl=opts.token_ttl_seconds, refresh_ttl=opts.refresh_ttl_seconds, clock=clock
        )
        self.auth = ZendeskAuth(
            email=opts.email,
            api_token=api_token,
            client_id=opts.oauth_client_id,
            client_secret=client_secret,
            issuer=issuer,
        )
        self.account_limit = WindowLimiter(per_minute, clock=clock)
        self.export_limit = WindowLimiter(incremental_per_minute, clock=clock)
        self.idempotency = IdempotencyStore(ttl_seconds=opts.idempotency_ttl_seconds, clock=clock)
        self.pipeline = RequestPipeline(
            authenticate=self.auth.check,
            render_error=_render_error,
            limits=[Limit("account", self.account_limit, _account_refusal)],
            headers=_rate_headers,
        )
        self._export_limits = [Limit("incremental", self.export_limit, _export_refusal)]
        self._audits = 0

    # -- SandboxApp ---------------------------------------------------------------------------

    def fault_responder(self) -> FaultResponder:
        return ZendeskFaults(self.account_limit.limit)

    def mutate(self, count: int) -> list[str]:
        return self.state.mutate(count)

    def connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        """Config for the Zendesk connector: API-token auth against this sandbox."""
        config: dict[str, Any] = {
            "base_url": base_url,
            "verify_tls": ca_file if ca_file else True,
            "email": self.credentials["email"],
            "token": self.credentials["api_token"],
        }
        if self.relaxed_limits:
            config["incremental_requests_per_minute"] = RELAXED_PER_MINUTE
            config["requests_per_minute"] = RELAXED_PER_MINUTE
        return config

    def oauth_connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        """Config for OAuth client credentials: bearer tokens that expire."""
        config = self.connection_config(base_url, ca_file)
        del config["email"], config["token"]
        return {
            **config,
            "oauth_client_id": self.credentials["oauth_client_id"],
            "oauth_client_secret": self.credentials["oauth_client_secret"],
        }

    def routes(self) -> list[BaseRoute]:
        # Imported here: the resources module renders with this module's _base and _with_url.
        from connectors.zendesk.sandbox.resources import ZendeskResources

        api = self._api
        res = ZendeskResources(self.state)
        tables = ("groups", "ticket_fields", "ticket_forms", "user_fields",
                  "organization_fields", "macros", "slas/policies")  # fmt: skip
        return [
            Route("/oauth/tokens", self.auth.token_endpoint, methods=["POST"]),
            *_both("/api/v2/incremental/tickets/cursor", api(self._export_tickets, True)),
            *_both("/api/v2/incremental/users/cursor", api(self._export_users, True)),
            *_both("/api/v2/incremental/organizations", api(self._export_organizations, True)),
            *_both("/api/v2/satisfaction_ratings", api(self._list_ratings)),
            *_both("/api/v2/ticket_metrics", api(self._list_metrics)),
            *_both("/api/v2/tickets", api(self._list_tickets)),
            *_both("/api/v2/tickets", api(self._create_ticket), methods=["POST"]),
            *_both("/api/v2/tickets/{ticket_id:int}", api(self._show_ticket)),
            *_both("/api/v2/tickets/{ticket_id:int}", api(self._update_ticket), methods=["PUT"]),
            *_both("/api/v2/users/me", api(self._me)),
            *_both("/api/v2/users/{user_id:int}", api(self._show_user)),
            *_both("/api/v2/users/create_or_update", api(self._upsert_user), methods=["POST"]),
            *_both("/api/v2/users", api(res.list_users)),
            *_both("/api/v2/organizations", api(res.list_organizations)),
            *_both("/api/v2/organizations/{record_id:int}", api(res.show_organization)),
            *[r for t in tables for r in _both(f"/api/v2/{t}", api(res.list_table(t)))],
            *[
                r
                for t in tables
                for r in _both(f"/api/v2/{t}/{{record_id:int}}", api(res.show_table(t)))
            ],
            *_both("/api/v2/group_memberships", api(res.list_group_memberships)),
            *_both("/api/v2/group_memberships/{record_id:int}", api(res.show_group_membership)),
            *_both("/api/v2/tags", api(res.list_tags)),
            *_both("/api/v2/tickets/{ticket_id:int}/comments", api(res.list_comments)),
            *_both("/api/v2/tickets/{ticket_id:int}/audits", api(res.list_audits)),
            *_both("/api/v2/tickets/{ticket_id:int}/audits/{record_id:int}", api(res.show_audit)),
            *_both("/api/v2/incremental/ticket_metric_events", api(res.export_metric_events, True)),
            *_both("/api/v2/search", api(res.search)),
            *_both("/api/v2/search/count", api(res.search_count)),
            *_both("/api/v2/search/export", api(res.search_export)),
            Route("/api/v2/channels/voice/{path:path}", api(res.talk_not_provisioned)),
            Route("/{path:path}", _invalid_endpoint, methods=["GET", "POST", "PUT", "DELETE"]),
        ]

    # -- the API wrapper: auth, limits, errors, rate-limit headers ------------------------------

    def _api(self, handler: Handler, export: bool = False) -> Handler:
        """``handler`` behind Zendesk's pipeline; exports also count against their own limit."""
        return self.pipeline.wrap(handler, extra_limits=self._export_limits if export else ())

    # -- incremental exports --------------------------------------------------------------------

    async def _export_tickets(self, request: Request) -> Response:
        params = request.query_params
        exclude_deleted = params.get("exclude_deleted", "").lower() == "true"
        side_load = "metric_sets" in params.get("include", "").split(",")

        def accept(entry: Entry) -> bool:
            return not (exclude_deleted and self.state.ticket_is_deleted(entry))

        entries, body = self._export_page(request, self.state.tickets, "tickets", accept)
        base = _base(request)
        tickets = [self._ticket_out(self.state.ticket_at(e), base) for e in entries]
        body = {"tickets": tickets, **body}
        if side_load:
            # [uncertain] Zendesk's community answers describe each ticket's metric set as
            # "connected to the ticket" (tap-zendesk reads ticket["metric_set"]); the side-load
            # list is kept at the top level as well, where the hub's connector reads it.
            live = [t for t in tickets if t.get("status") != "deleted"]
            for ticket in live:
                ticket["metric_set"] = self._metric_out(ticket, base)
            body["metric_sets"] = [t["metric_set"] for t in live]
        return JSONResponse(body)

    async def _export_users(self, request: Request) -> Response:
        entries, body = self._export_page(request, self.state.users, "users", lambda _: True)
        base = _base(request)
        return JSONResponse(
            {"users": [_with_url(self.state.user_at(e), base, "users") for e in entries], **body}
        )

    def _export_page(
        self, request: Request, timeline: Timeline, kind: str, accept: Callable[[Entry], bool]
    ) -> tuple[list[Entry], dict[str, Any]]:
        """One page of a cursor-based incremental export: ``start_time`` first, then ``cursor``."""
        params = request.query_params
        per_page = int_param(
            params, "per_page", default=EXPORT_PAGE_MAX, low=1, high=EXPORT_PAGE_MAX
        )
        cursor, start_time = params.get("cursor"), params.get("start_time")
        if cursor:
            start = decode_export_cursor(cursor)
        elif start_time is not None:
            start = timeline.position_at(_unix_time(start_time))
        else:
            raise bad_parameter("start_time or cursor is required")
        entries, after = timeline.scan(start, per_page, accept)
        after_ts = entries[-1].ts if entries else timeline.last_ts()
        after_cursor = encode_export_cursor(after, after_ts)
        keep = {k: v for k, v in params.items() if k not in ("cursor", "start_time")}
        path = f"/api/v2/incremental/{kind}/cursor.json"
        return entries, {
            "after_url": url(_base(request), path, {**keep, "cursor": after_cursor}),
            "after_cursor": after_cursor,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": after >= len(timeline),
        }

    async def _export_organizations(self, request: Request) -> Response:
        """Time-based export: ``end_time`` of a page is the next ``start_time`` (duplicates at
        the boundary are expected, as with the real API)."""
        params = request.query_params
        if params.get("start_time") is None:
            raise bad_parameter("start_time is required")
        start_time = _unix_time(params["start_time"])
        per_page = int_param(
            params, "per_page", default=EXPORT_PAGE_MAX, low=1, high=EXPORT_PAGE_MAX
        )
        timeline = self.state.orgs
        entries, _ = timeline.scan(timeline.position_at(start_time), per_page)
        end_time = entries[-1].ts if entries else start_time
        base = _base(request)
        keep = {k: v for k, v in params.items() if k != "start_time"}
        path = "/api/v2/incremental/organizations.json"
        return JSONResponse(
            {
                "organizations": [
                    _with_url(self.state.organization_at(e), base, "organizations") for e in entries
                ],
                "count": len(entries),
                "end_of_stream": len(entries) < per_page,
                "end_time": end_time,
                "next_page": url(base, path, {**keep, "start_time": end_time}),
            }
        )

    # -- lists and shows ------------------------------------------------------------------------

    def _ticket_space(self, render: Callable[[dict[str, Any]], dict[str, Any]]) -> IdSpace:
        state, data = self.state, self.data

        def accept(ticket_id: int) -> bool:
            if ticket_id in state.ticket_changes:
                return state.ticket_changes[ticket_id].get("status") != "deleted"
            index = data.ticket_index(ticket_id)
            return index is not None and not is_deleted(data.seed, index)

        def count() -> int:
            created = state.next_ticket_id - data.tickets_n - 1
            return data.live_tickets_below(data.tickets_n) + created

        def render_id(ticket_id: int) -> dict[str, Any]:
            ticket = state.ticket(ticket_id)
            assert ticket is not None
            return render(ticket)

        return IdSpace(1, state.next_ticket_id, accept, render_id, count)

    async def _list_tickets(self, request: Request) -> Response:
        base = _base(request)
        space = self._ticket_space(lambda t: self._ticket_out(t, base))
        return JSONResponse(
            list_page(space, key="tickets", base=base, path="/api/v2/tickets.json",
                      params=request.query_params)
        )  # fmt: skip

    async def _list_metrics(self, request: Request) -> Response:
        base = _base(request)
        space = self._ticket_space(lambda t: self._metric_out(t, base))
        return JSONResponse(
            list_page(space, key="ticket_metrics", base=base, path="/api/v2/ticket_metrics.json",
                      params=request.query_params)
        )  # fmt: skip

    async def _list_ratings(self, request: Request) -> Response:
        """Ratings in id order; ``start_time``/``end_time`` bound their ``created_at``."""
        params, data, base = request.query_params, self.data, _base(request)
        low, high = 0, data.tickets_n
        if params.get("start_time"):
            low = min(self.state.tickets.position_at(_unix_time(params["start_time"])), high)
        if params.get("end_time"):
            high = min(self.state.tickets.position_at(_unix_time(params["end_time"]) + 1), high)
        space = IdSpace(
            low,
            max(low, high),
            lambda i: is_rated(data.seed, i),
            lambda i: _with_url(data.rating(i), base, "satisfaction_ratings"),
            lambda: data.rated_below(max(low, high)) - data.rated_below(low),
        )
        return JSONResponse(
            list_page(space, key="satisfaction_ratings", base=base,
                      path="/api/v2/satisfaction_ratings.json", params=params)
        )  # fmt: skip

    async def _show_ticket(self, request: Request) -> Response:
        ticket = self._live_ticket(request.path_params["ticket_id"])
        return JSONResponse({"ticket": self._ticket_out(ticket, _base(request))})

    async def _show_user(self, request: Request) -> Response:
        user = self.state.user(request.path_params["user_id"])
        if user is None:
            raise _not_found()
        return JSONResponse({"user": _with_url(user, _base(request), "users")})

    async def _me(self, request: Request) -> Response:
        return JSONResponse({"user": _with_url(self.data.user(0), _base(request), "users")})

    def _live_ticket(self, ticket_id: int) -> dict[str, Any]:
        ticket = self.state.ticket(ticket_id)
        if ticket is None or ticket.get("status") == "deleted":
            raise _not_found()
        return ticket

    # -- writes ---------------------------------------------------------------------------------

    async def _create_ticket(self, request: Request) -> Response:
        """``POST /api/v2/tickets``, idempotent under an ``Idempotency-Key`` header."""
        raw = await request.body()
        key = request.headers.get("idempotency-key")
        if key:
            found = self.idempotency.lookup(key, fingerprint(raw))
            if found == MISMATCH:
                # [uncertain] Zendesk's exact error for a key reused with another body.
                raise ZendeskError(
                    400, "IdempotentRequestError",
                    "Idempotency key was already used with different request parameters",
                )  # fmt: skip
            if isinstance(found, StoredResponse):
                return Response(found.body, found.status, dict(found.headers))
        response = self._created_ticket_response(_root(raw, "ticket"), _base(request))
        if key:
            response.headers["x-idempotency-lookup"] = "miss"
            stored_headers = {**response.headers, "x-idempotency-lookup": "hit"}
            stored_headers.pop("content-length", None)
            self.idempotency.remember(
                key,
                fingerprint(raw),
                StoredResponse(201, tuple(stored_headers.items()), bytes(response.body)),
            )
        return response

    def _created_ticket_response(self, payload: dict[str, Any], base: str) -> Response:
        fields = dict(payload)
        comment = fields.pop("comment", None)
        if isinstance(comment, dict):
            fields["description"] = comment.get("body") or comment.get("html_body")
        errors = ticket_field_errors(fields, creating=True)
        requester_id = self._requester_id(fields, errors)
        if errors:
            raise ZendeskError(422, "RecordInvalid", "Record validation errors", errors)
        ticket = self.state.new_ticket(fields, requester_id=requester_id)
        out = self._ticket_out(ticket, base)
        return JSONResponse(
            {"ticket": out, "audit": self._audit(ticket, "Create", fields)},
            status_code=201,
            headers={"Location": out["url"]},
        )

    def _requester_id(self, fields: dict[str, Any], errors: dict[str, Any]) -> int:
        """The requester: an existing id, a ``requester`` {name, email} found or created, or
        the authenticated admin."""
        if fields.get("requester_id") is not None:
            requester_id = fields["requester_id"]
            if not isinstance(requester_id, int) or self.state.user(requester_id) is None:
                errors |= detail("requester", "Requester: is invalid", "InvalidValue")
                return 0
            return requester_id
        requester = fields.get("requester")
        if not isinstance(requester, dict):
            return int(self.data.user(0)["id"])
        if not valid_email(requester.get("email")):
            errors |= detail(
                "requester", "Requester: Email is not properly formatted", "InvalidFormat"
            )
            return 0
        found = self.state.find_user(email=requester["email"], external_id=None)
        if found is None:
            if errors:
                return 0
            name = requester.get("name") or str(requester["email"]).split("@")[0]
            found = self.state.new_user({"name": name, "email": requester["email"]})
        return int(found["id"])

    async def _update_ticket(self, request: Request) -> Response:
        ticket = self._live_ticket(request.path_params["ticket_id"])
        payload = _root(await request.body(), "ticket")
        if ticket.get("status") == "closed":
            raise ZendeskError(
                422, "RecordInvalid", "Record validation errors",
                detail("status", "Status: closed prevents ticket update", "ClosedPrevents"),
            )  # fmt: skip
        changes = {k: v for k, v in payload.items() if k in _TICKET_UPDATE_FIELDS}
        errors = ticket_field_errors(changes, creating=False)
        if errors:
            raise ZendeskError(422, "RecordInvalid", "Record validation errors", errors)
        updated = self.state.save_ticket({**ticket, **changes})
        return JSONResponse(
            {
                "ticket": self._ticket_out(updated, _base(request)),
                "audit": self._audit(updated, "Change", changes),
            }
        )

    async def _upsert_user(self, request: Request) -> Response:
        """``POST /api/v2/users/create_or_update``: match by external_id, then email."""
        payload = _root(await request.body(), "user")
        fields = {k: v for k, v in payload.items() if k in _USER_FIELDS}
        if fields.get("email") is not None and not valid_email(fields["email"]):
            raise ZendeskError(
                422, "RecordInvalid", "Record validation errors",
                detail("email", "Email: is not properly formatted", "InvalidFormat"),
            )  # fmt: skip
        found = self.state.find_user(
            email=fields.get("email"), external_id=fields.get("external_id")
        )
        base = _base(request)
        if found is not None:
            user = self.state.save_user({**found, **fields})
            return JSONResponse({"user": _with_url(user, base, "users")}, status_code=200)
        if not fields.get("name"):
            raise ZendeskError(
                422, "RecordInvalid", "Record validation errors",
                detail("name", "Name: is too short (minimum one character)", "TooShort"),
            )  # fmt: skip
        user = self.state.new_user(fields)
        return JSONResponse({"user": _with_url(user, base, "users")}, status_code=201)

    def _audit(self, ticket: dict[str, Any], kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        self._audits += 1
        events = [
            {"id": self._audits * 100 + n, "type": kind, "field_name": name, "value": fields[name]}
            for n, name in enumerate(sorted(k for k in fields if k != "description"))
        ]
        return {
            "id": self._audits,
            "ticket_id": ticket["id"],
            "created_at": ticket["updated_at"],
            "author_id": self.data.user(0)["id"],
            "metadata": {"system": {}, "custom": {}},
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "events": events,
        }

    # -- rendering ------------------------------------------------------------------------------

    @staticmethod
    def _ticket_out(ticket: dict[str, Any], base: str) -> dict[str, Any]:
        return _with_url(ticket_view(ticket), base, "tickets")

    def _metric_out(self, ticket: dict[str, Any], base: str) -> dict[str, Any]:
        return _with_url(self.data.metric_set(ticket), base, "ticket_metrics")


def _both(path: str, endpoint: Handler, methods: list[str] | None = None) -> list[BaseRoute]:
    """Zendesk accepts every path with and without the ``.json`` suffix."""
    methods = methods or ["GET"]
    return [
        Route(path, endpoint, methods=methods),
        Route(f"{path}.json", endpoint, methods=methods),
    ]


def _account_refusal(account: LimitDecision, taken: Decisions) -> Response:
    return _too_many_requests(account.reset_after, account.limit)


def _export_refusal(limit: LimitDecision, taken: Decisions) -> Response:
    # The incremental-export limit answers with its own ratelimit-* headers as well.
    return _too_many_requests(
        limit.reset_after,
        taken["account"].limit,
        **{"ratelimit-limit": str(limit.limit), "ratelimit-remaining": "0",
           "ratelimit-reset": str(limit.reset_after)},
    )  # fmt: skip


def _rate_headers(decisions: Decisions) -> dict[str, str]:
    account = decisions["account"]
    return {"X-Rate-Limit": str(account.limit), "X-Rate-Limit-Remaining": str(account.remaining)}


def _render_error(error: VendorApiError) -> Response:
    """Zendesk's ``{"error", "description", "details"?}`` error body."""
    body: dict[str, Any] = {"error": error.code, "description": error.message}
    if error.details is not None:
        body["details"] = error.details
    return JSONResponse(body, status_code=error.status)


def _base(request: Request) -> str:
    """Scheme, host and port as the client called us, for absolute next-page URLs."""
    return f"{request.url.scheme}://{request.url.netloc}"


def _with_url(record: dict[str, Any], base: str, collection: str) -> dict[str, Any]:
    return {"url": f"{base}/api/v2/{collection}/{record['id']}.json", **record}


def _unix_time(raw: str) -> int:
    """Epoch seconds; Zendesk also takes "1700000000.0" and ISO-8601 times, which tap-zendesk
    sends (its discovery would fail otherwise)."""
    try:
        return int(float(raw))
    except (ValueError, OverflowError):
        pass
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_parameter("start_time and end_time must be Unix epoch seconds") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _root(raw: bytes, name: str) -> dict[str, Any]:
    """The ``{"<name>": {...}}`` object of a write body."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise ZendeskError(400, "InvalidJSON", "The request body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get(name), dict):
        raise ZendeskError(400, "InvalidValue", f"The request body needs a {name!r} object")
    return dict(body[name])


def _not_found() -> ZendeskError:
    return ZendeskError(404, "RecordNotFound", "Not found")


async def _invalid_endpoint(request: Request) -> Response:
    return JSONResponse({"error": "InvalidEndpoint", "description": "Not found"}, status_code=404)
