"""The Genesys Cloud Platform API emulator: OAuth client credentials on ``/oauth/token`` (the
login host, served on the same host for local use), directory listings, external contacts,
the analytics conversation details query and jobs, ``inin-ratelimit-*`` headers, 429s with
and without ``Retry-After``, and ``ErrorBody`` errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.genesys.sandbox.analytics import ConversationDetails
from connectors.genesys.sandbox.listing import (
    cursor_listing,
    entity_listing,
    error_body,
    not_found,
    render_error,
)
from connectors.genesys.sandbox.records import (
    DAY,
    HISTORY_END,
    SPAN_SECONDS,
    GenesysRecords,
    genesys_time,
)
from hub.sandbox.app import SandboxApp
from hub.sandbox.clock import RunningClock
from hub.sandbox.data import derived_secret
from hub.sandbox.faults import FaultResponder
from hub.sandbox.limits import LimitDecision, WindowLimiter
from hub.sandbox.oauth import (
    CLIENT_CREDENTIALS,
    INVALID_CLIENT,
    UNKNOWN_CLIENT,
    UNSUPPORTED_GRANT,
    IssuedToken,
    OAuthError,
    TokenEndpoint,
    TokenIssuer,
)
from hub.sandbox.options import SandboxOptions
from hub.sandbox.pipeline import Decisions, Handler, Limit, RequestPipeline

RELAXED_PER_MINUTE = 1_000_000
API = "/api/v2"
DETAILS = f"{API}/analytics/conversations/details"
CONTACTS_REACH = 1000  # GET /externalcontacts/contacts: pageNumber * pageSize <= 1000


def _error(status: int, code: str, message: str, **headers: str) -> Response:
    return JSONResponse(error_body(status, code, message), status_code=status, headers=headers)


def _bad_credentials() -> Response:
    """A bearer token that is expired, revoked or unknown."""
    return _error(401, "bad.credentials", "Invalid login credentials.")


def _no_token() -> Response:
    """A request without a bearer token."""
    return _error(401, "authentication.required",
                  "No authentication bearer token specified in authorization header.")  # fmt: skip


# What Genesys's login host says when it refuses a token request: 400 with the OAuth ``error``
# and the description twice, as ``description`` and ``error_description`` (observed answers
# recorded in GForceIndustries/GCCX-Utils README.md: "authentication failed" for a wrong
# secret, "client not found" for an unknown client id).
_TOKEN_REFUSALS = {
    INVALID_CLIENT: ("invalid_client", "authentication failed"),
    UNKNOWN_CLIENT: ("invalid_client", "client not found"),
    UNSUPPORTED_GRANT: ("unauthorized_client",
                        "client is not authorized to use the requested grant type"),
}  # fmt: skip


def _token_refusal(error: OAuthError) -> Response:
    code, description = _TOKEN_REFUSALS.get(error.description, (error.error, error.description))
    body = {"error": code, "description": description, "error_description": description}
    return JSONResponse(body, status_code=400)


def _rate_headers(decision: LimitDecision) -> dict[str, str]:
    """``inin-ratelimit-count/allowed/reset``: used, allowed, seconds until the window resets."""
    return {
        "inin-ratelimit-count": str(decision.limit - decision.remaining),
        "inin-ratelimit-allowed": str(decision.limit),
        "inin-ratelimit-reset": str(decision.reset_after),
    }


class GenesysFaults(FaultResponder):
    """Injected faults in Genesys Cloud's shapes."""

    def rate_limited(self, retry_after: float) -> Response:
        seconds = str(max(1, round(retry_after + 0.5)))
        return _error(429, "too.many.requests", "Rate limit exceeded the maximum.",
                      **{"Retry-After": seconds})  # fmt: skip

    def server_error(self, status: int) -> Response:
        code = "service.unavailable" if status == 503 else "internal.server.error"
        return _error(status, code, "The service is currently unavailable.")

    def token_expired(self) -> Response:
        return _bad_credentials()


class GenesysOptions(SandboxOptions):
    """What ``hub sandbox serve genesys --option NAME=VALUE`` accepts."""

    client_id: str = Field("hub-sandbox-client", description="OAuth client id.")
    client_secret: str | None = Field(
        None, description="OAuth client secret (default: derived from the seed)."
    )
    token_ttl_seconds: int = Field(86_400, ge=1, description="Access token lifetime.")
    requests_per_minute: int = Field(300, ge=1, description="Per-client requests per minute.")
    job_polls: int = Field(2, ge=1, description="Status polls before a details job is done.")
    job_result_ttl_seconds: int = Field(3600, ge=1, description="How long job results last.")
    job_data_lag_seconds: int = Field(
        0, ge=0, description="How far details jobs' data (dataAvailabilityDate) lags the clock."
    )


class GenesysSandbox(SandboxApp):
    """Genesys Cloud Platform API subset read by the hub and the PureCloudPlatformClientV2 SDK.

    Options are declared in :class:`GenesysOptions`; ``clock`` (the server clock) is for tests.
    Conversations fall in the 30 days before the start of the UTC day the server clock shows
    when the sandbox is built. That clock starts at :data:`HISTORY_END` (2025-01-01, where the
    Zendesk and Twilio sandboxes' generated history ends too) and runs from there, whatever
    the machine's date: two sandboxes of one seed hold the same data on any day, and a
    connector reading up to the server's ``Date`` reads all of it.
    """

    vendor = "genesys"
    options_model = GenesysOptions
    demo_port = 8103

    def __init__(
        self,
        *,
        records: int,
        seed: int,
        faults: str | None = None,
        clock: Callable[[], float] | None = None,
        **options: Any,
    ) -> None:
        opts = self.parse_options(GenesysOptions, options)
        clock = clock or RunningClock(HISTORY_END)
        self.clock = clock
        secret = opts.client_secret or derived_secret("genesys", seed, "client_secret")
        credentials = {"client_id": opts.client_id, "client_secret": secret}
        super().__init__(seed=seed, faults=faults, credentials=credentials)
        self.relaxed_limits = opts.relaxed_limits
        self.records = GenesysRecords(records=records, seed=seed,
                                      anchor=int(clock() // DAY) * DAY)  # fmt: skip
        self.details = ConversationDetails(
            self.records, clock=clock, data_lag_seconds=opts.job_data_lag_seconds
        )
        self.details.jobs.polls_to_complete = opts.job_polls
        self.details.jobs.result_ttl_seconds = opts.job_result_ttl_seconds
        self.issuer = TokenIssuer(access_ttl=opts.token_ttl_seconds, refresh_ttl=1, clock=clock)
        self.tokens = TokenEndpoint(
            issuer=self.issuer,
            clients={opts.client_id: secret},
            grants=(CLIENT_CREDENTIALS,),
            refresh_tokens=False,  # client credentials: ask again when the token expires
            token_body=_token_body,
            render_error=_token_refusal,
            clock=clock,
        )
        per_minute = RELAXED_PER_MINUTE if opts.relaxed_limits else opts.requests_per_minute
        self.limiter = WindowLimiter(per_minute, clock=clock)
        self.pipeline = RequestPipeline(
            authenticate=self._authenticate,
            render_error=render_error,
            limits=[Limit("client", self.limiter, _refuse)],
            headers=lambda decisions: _rate_headers(decisions["client"]),
        )

    # -- SandboxApp ---------------------------------------------------------------------------

    def server_time(self) -> float:
        return self.clock()

    def fault_responder(self) -> FaultResponder:
        return GenesysFaults()

    def mutate(self, count: int) -> list[str]:
        """Late changes to the newest conversations an agent took (a survey, a corrected
        wrap-up code); returns their customer sessions, the records the hub holds."""
        changed: list[str] = []
        for index in reversed(range(self.records.sizes.conversations)):
            if len(changed) >= count:
                break
            conversation = self.records.change_late(index)
            if conversation is None:
                continue
            for participant in conversation["participants"]:
                if participant["purpose"] in ("customer", "external"):
                    changed += [f"conversation_session/{s['sessionId']}"
                                for s in participant["sessions"]]  # fmt: skip
        return changed

    def connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        """Config for the Genesys connector: explicit hosts (API and login on this sandbox)."""
        config: dict[str, Any] = {
            "base_url": base_url,
            "login_url": base_url,
            "verify_tls": ca_file if ca_file else True,
            "client_id": self.credentials["client_id"],
            "client_secret": self.credentials["client_secret"],
            "start_date": genesys_time(self.records.anchor - SPAN_SECONDS),
        }
        if self.relaxed_limits:
            config["requests_per_minute"] = RELAXED_PER_MINUTE
        return config

    def oauth_connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        """Genesys has only bearer tokens here: the plain config already expires them."""
        return self.connection_config(base_url, ca_file)

    def routes(self) -> list[BaseRoute]:
        api, details, records = self._api, self.details, self.records
        return [
            Route("/oauth/token", self.tokens.handle, methods=["POST"]),
            Route(f"{API}/organizations/me", api(self._organization)),
            Route(f"{API}/users", api(self._users)),
            Route(f"{API}/users/{{user_id}}", api(self._user)),
            Route(f"{API}/routing/queues", api(self._table(lambda: records.queues))),
            Route(f"{API}/routing/wrapupcodes", api(self._table(lambda: records.wrap_up_codes))),
            Route(f"{API}/externalcontacts/contacts", api(self._contacts)),
            Route(f"{API}/externalcontacts/scan/contacts", api(self._scan_contacts)),
            Route(f"{DETAILS}/query", api(details.query), methods=["POST"]),
            Route(f"{DETAILS}/jobs", api(details.submit), methods=["POST"]),
            Route(f"{DETAILS}/jobs/availability", api(details.availability)),
            Route(f"{DETAILS}/jobs/{{job_id}}", api(details.status)),
            Route(f"{DETAILS}/jobs/{{job_id}}", api(details.delete), methods=["DELETE"]),
            Route(f"{DETAILS}/jobs/{{job_id}}/results", api(details.results)),
            Route("/{path:path}", _no_such_resource, methods=["GET", "POST", "PUT", "DELETE"]),
        ]

    # -- pipeline -----------------------------------------------------------------------------

    def _api(self, handler: Handler) -> Handler:
        return self.pipeline.wrap(handler)

    def _authenticate(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _no_token()
        if self.issuer.check(token.strip()) != "valid":
            return _bad_credentials()
        return None

    # -- directory ----------------------------------------------------------------------------

    async def _organization(self, request: Request) -> Response:
        org_id = derived_secret("genesys", self.seed, "org")[:8]
        return JSONResponse({"id": org_id, "name": "Sandbox Contact Centre",
                             "thirdPartyOrgName": "sandbox", "state": "active"})  # fmt: skip

    async def _users(self, request: Request) -> Response:
        count = self.records.sizes.users
        fetch = self._fetch(self.records.user)
        return JSONResponse(entity_listing(request.url.path, request.query_params, count, fetch))

    async def _user(self, request: Request) -> Response:
        wanted = request.path_params["user_id"]
        for index in range(self.records.sizes.users):
            user = self.records.user(index)
            if user["id"] == wanted:
                return JSONResponse(user)
        raise not_found("user")

    def _table(self, rows: Callable[[], list[dict[str, Any]]]) -> Handler:
        async def listing(request: Request) -> Response:
            table = rows()
            page = entity_listing(request.url.path, request.query_params, len(table),
                                  lambda span: [table[i] for i in span])  # fmt: skip
            return JSONResponse(page)

        return listing

    async def _contacts(self, request: Request) -> Response:
        count = self.records.sizes.contacts
        fetch = self._fetch(self.records.contact)
        page = entity_listing(request.url.path, request.query_params, count, fetch,
                              max_reach=CONTACTS_REACH)  # fmt: skip
        return JSONResponse(page)

    async def _scan_contacts(self, request: Request) -> Response:
        count = self.records.sizes.contacts
        page = cursor_listing(request.url.path, request.query_params, count,
                              self._fetch(self.records.contact))  # fmt: skip
        return JSONResponse(page)

    @staticmethod
    def _fetch(render: Callable[[int], dict[str, Any]]) -> Callable[[range], list[dict[str, Any]]]:
        return lambda span: [render(i) for i in span]


def _token_body(token: IssuedToken) -> dict[str, Any]:
    """Genesys's token answer: ``access_token``, lower-case ``bearer``, ``expires_in``."""
    return {"access_token": token.access_token, "token_type": "bearer",
            "expires_in": token.expires_in}  # fmt: skip


def _refuse(decision: LimitDecision, taken: Decisions) -> Response:
    # Genesys's own limiter does not always send Retry-After; inin-ratelimit-reset says when.
    return _error(429, "too.many.requests", "Rate limit exceeded the maximum.",
                  **_rate_headers(decision))  # fmt: skip


async def _no_such_resource(request: Request) -> Response:
    return _error(404, "not.found", "The requested resource was not found.")
