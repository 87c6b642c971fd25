"""The Genesys Cloud connector: conversations from the analytics details API (one record
per customer-facing session), and the directory: users (agents), routing queues, wrap-up
codes and external contacts (customers).

Vendor reference: https://developer.genesys.cloud/ (analytics conversation detail queries and
jobs, entity listings, rate limits) and vendor-apis.md 4. Every call goes through
:meth:`Connector.request_json`, so retries, Retry-After, client-side limits and the token
refresh live once in :mod:`hub.http`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from connectors.genesys.config import MAX_LIST_PAGE_SIZE, GenesysConfig
from connectors.genesys.sessions import customer_sessions
from hub.connector import Connector, Page, Stream
from hub.errors import AuthError, ConnectorError
from hub.http import (
    ClientAuth,
    ClientCredentialsGrant,
    OAuth2,
    OAuthClient,
    QuotaHeaders,
    RateLimit,
    ServerClock,
    VendorErrors,
)
from hub.paging import (
    Bounds,
    ExportJob,
    PageNumberPaginator,
    PageRequest,
    RestStream,
    TimeWindowPaginator,
    TokenPaginator,
    Watermark,
    iso8601,
    read_export_job,
    read_stream,
)
from hub.paging.instants import to_instant

API_PREFIX = "/api/v2/"
DETAILS = "/api/v2/analytics/conversations/details"
AVAILABILITY = f"{DETAILS}/jobs/availability"
# The directory listings: stream -> path (entity listings paged by pageNumber).
_LISTINGS = {
    "users": "/api/v2/users",
    "queues": "/api/v2/routing/queues",
    "wrap_up_codes": "/api/v2/routing/wrapupcodes",
}
# GET /externalcontacts/contacts stops at pageNumber * pageSize = 1000: the scan has no cap.
CONTACTS_SCAN = "/api/v2/externalcontacts/scan/contacts"
MAX_SCAN_LIMIT = 200
MAX_RESULTS_PAGE_SIZE = 1000
_ORDER = {"order": "asc", "orderBy": "conversationStart"}


def _reset_wait(response: httpx.Response) -> float | None:
    """A 429 without Retry-After still says when the window resets: ``inin-ratelimit-reset``."""
    if response.status_code != 429:
        return None
    try:
        return max(float(response.headers.get("inin-ratelimit-reset", "")), 0.0)
    except ValueError:
        return None


def _error_detail(body: Any) -> str | None:
    """An ``ErrorBody``'s message, status and ``contextId`` (the id Genesys support asks for);
    hub.http redacts it before it reaches an error."""
    if not isinstance(body, dict) or "contextId" not in body:
        return None
    return f"{body.get('message')} (status {body.get('status')}, contextId {body.get('contextId')})"


# ErrorBody's ``code`` (``bad.credentials``, ``too.many.requests``) is what the generic reader
# finds; the rest of the body shows only through _error_detail.
GENESYS_ERRORS = VendorErrors(detail_of=_error_detail, wait_of=_reset_wait)


def interval(start: datetime, end: datetime) -> str:
    """An analytics ``interval``: ``start/end`` in ISO-8601."""
    return f"{iso8601(start)}/{iso8601(end)}"


def _place_interval(request: PageRequest, start: datetime, end: datetime) -> PageRequest:
    return request.with_json({"interval": interval(start, end)})


def _job_gone(error: ConnectorError) -> bool:
    """Purged or unknown job results answer 404: the job is submitted again."""
    return error.status == 404


class GenesysConnector(Connector):
    """Reads a Genesys Cloud organisation's conversations and directory."""

    name: ClassVar[str] = "genesys"
    title: ClassVar[str] = "Genesys Cloud"
    config_model: ClassVar[type[GenesysConfig]] = GenesysConfig
    streams: ClassVar[tuple[Stream, ...]] = (
        Stream("conversations", "conversation_session",
               "Customer-facing sessions of analytics conversations.", "conversationStart"),
        Stream("users", "user", "Users (agents).", "(full refresh)"),
        Stream("queues", "queue", "Routing queues.", "(full refresh)"),
        Stream("wrap_up_codes", "wrap_up_code", "Wrap-up codes.", "(full refresh)"),
        Stream("external_contacts", "external_contact", "External contacts (customers).",
               "(full refresh)"),
    )  # fmt: skip

    config: GenesysConfig  # narrowed for the type checker; the hub validates it
    vendor_errors: ClassVar[VendorErrors] = GENESYS_ERRORS

    def __init__(self, config: GenesysConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        # Intervals end at Genesys's now, not ours: every answer's Date sets this clock.
        self.server_clock = ServerClock()
        self.data_available: datetime | None = None  # the details jobs' dataAvailabilityDate

    # -- connection ------------------------------------------------------------------

    def auth(self) -> httpx.Auth:
        """Client credentials at the login host, the client sent as HTTP Basic; the token is
        kept until shortly before ``expires_in`` runs out and asked again after a 401."""
        config = self.config
        client = OAuthClient(
            config.client_id, config.client_secret, send_secret_as=ClientAuth.BASIC
        )
        return OAuth2(
            ClientCredentialsGrant(client),
            token_url=config.token_url(),
            vendor_errors=GENESYS_ERRORS,
        )

    def rate_limits(self) -> list[RateLimit]:
        """Genesys counts requests per OAuth client (300 a minute by default)."""
        return [RateLimit(API_PREFIX, self.config.requests_per_minute, 60)]

    def quota_headers(self) -> QuotaHeaders:
        """``inin-ratelimit-count`` of ``-allowed`` used, ``-reset`` seconds to go: when the
        count reaches the allowance, the next request waits for the reset."""
        return QuotaHeaders(used="inin-ratelimit-count", allowed="inin-ratelimit-allowed",
                            reset="inin-ratelimit-reset")  # fmt: skip

    async def check(self) -> None:
        """``GET /api/v2/organizations/me``: answers for any valid token, user or client."""
        _, body = await self.request_json("GET", "/api/v2/organizations/me")
        if not isinstance(body, dict) or not body.get("id"):
            raise AuthError(
                "Genesys answered /api/v2/organizations/me without an organisation",
                connection=self.connection,
            )

    async def request_json(
        self, method: str, url: str, *, retry_safe: bool = False, **kwargs: Any
    ) -> tuple[httpx.Response, Any]:
        """One request through :mod:`hub.http`; its answer's ``Date`` sets the server clock."""
        response, body = await super().request_json(method, url, retry_safe=retry_safe, **kwargs)
        self.server_clock.observe(response)
        return response, body

    # -- reading ---------------------------------------------------------------------

    def reading(self, stream: str) -> RestStream:
        """How a directory stream, or the paged conversations query, is read."""
        config = self.config
        if stream == "conversations":
            return self.details_query()
        if stream == "external_contacts":
            return RestStream(
                PageRequest(CONTACTS_SCAN, params={"limit": min(config.page_size, MAX_SCAN_LIMIT)}),
                records="entities",
                paginator=TokenPaginator("cursors.after", param="cursor"),
            )
        size = min(config.page_size, MAX_LIST_PAGE_SIZE)
        return RestStream(
            PageRequest(_LISTINGS[stream]),
            records="entities",
            paginator=PageNumberPaginator(
                param="pageNumber", size=size, size_param="pageSize", total_pages="pageCount"
            ),
        )

    async def read(self, stream: str, state: dict[str, Any] | None) -> AsyncIterator[Page]:
        """Conversations come as pages of conversations and leave as pages of sessions."""
        if stream != "conversations":
            async for page in super().read(stream, state):
                yield page
            return
        await self._learn_availability(stream)
        if self._backfills(state):
            pages = read_export_job(self, stream, self.details_job(), state)
        else:
            pages = read_stream(self, stream, self.details_query(), state)
        async for page in pages:
            sessions = [
                session
                for conversation in page.records
                for session in (
                    customer_sessions(conversation)
                    if isinstance(conversation, dict)
                    else [conversation]  # not an object: the mapping quarantines it
                )
            ]
            yield Page(records=sessions, state=page.state, requests=page.requests)

    async def _learn_availability(self, stream: str) -> None:
        """``GET .../details/jobs/availability`` before each conversations read: its ``Date``
        gives Genesys's clock before any interval is chosen, and its ``dataAvailabilityDate``
        says how far a details job's data reaches."""
        _, body = await self.request_json("GET", AVAILABILITY, stream=stream)
        found = body.get("dataAvailabilityDate") if isinstance(body, dict) else None
        self.data_available = to_instant(found)

    def conversation_cursor(self) -> Watermark:
        """By ``conversationStart``, each run re-reading ``lookback_hours`` before the newest
        conversation seen: a conversation that changed since comes again, one that did not is
        dropped by its digest."""
        return Watermark(
            "conversationStart",
            initial=self.config.start_date,
            lookback=timedelta(hours=self.config.lookback_hours),
        )

    def details_query(self) -> RestStream:
        """``POST .../details/query`` over interval windows, paged in the body."""
        config = self.config
        paging = PageNumberPaginator(param="pageNumber", size=config.page_size,
                                     size_param="pageSize", total_records="totalHits",
                                     body="paging")  # fmt: skip
        return RestStream(
            PageRequest(f"{DETAILS}/query", method="POST", json=_ORDER, retry_safe=True),
            records="conversations",
            paginator=TimeWindowPaginator(
                step=timedelta(days=config.window_days),
                inner=paging,
                place=_place_interval,
                clock=self.server_clock.now,
            ),
            cursor=self.conversation_cursor(),
        )

    def details_job(self) -> ExportJob:
        """The asynchronous details job: submit, poll ``state``, read results by ``cursor``."""

        def body(bounds: Bounds) -> dict[str, Any]:
            lower = bounds.lower or self.config.start_date
            upper = bounds.upper or self.server_clock.now()
            if self.data_available is not None and lower < self.data_available < upper:
                # A job holds nothing newer; the next run reads on from the newest it held.
                upper = self.data_available
            return {"interval": interval(lower, upper), **_ORDER}

        size = min(self.config.page_size * 10, MAX_RESULTS_PAGE_SIZE)
        return ExportJob(
            submit=PageRequest(f"{DETAILS}/jobs", method="POST", retry_safe=True),
            submit_body=body,
            job_id="jobId",
            status=PageRequest(f"{DETAILS}/jobs/{{job_id}}"),
            state="state",
            done=frozenset({"FULFILLED"}),
            failed=frozenset({"FAILED", "CANCELLED"}),
            expired=frozenset({"EXPIRED"}),
            results=PageRequest(f"{DETAILS}/jobs/{{job_id}}/results", params={"pageSize": size}),
            records="conversations",
            paginator=TokenPaginator("cursor", param="cursor"),
            cursor=self.conversation_cursor(),
            job_expired=_job_gone,
            first_poll_seconds=self.config.job_poll_seconds,
        )

    def _backfills(self, state: Mapping[str, Any] | None) -> bool:
        """Whether this read goes through a details job: a stored job position resumes one;
        a stored window position resumes the query; otherwise a run longer than
        ``async_backfill_days`` is a backfill."""
        following = None if state is None else state.get("next")
        if following is not None:
            return isinstance(following, dict) and "job" in following
        cursor = None if state is None else state.get("cursor")
        start = to_instant(cursor.get("start")) if isinstance(cursor, dict) else None
        start = start or self.config.start_date
        return self.server_clock.now() - start > timedelta(days=self.config.async_backfill_days)
