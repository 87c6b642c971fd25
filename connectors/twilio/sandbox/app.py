"""The Twilio API emulator: the 2010-04-01 Messages and Calls lists (and message create),
Conversations v1, Basic auth, Twilio's error bodies and its 429 with code 20429.

Both APIs are served on one origin: point the connector's ``base_url`` and
``conversations_base_url`` (or the SDK's ``client.api.base_url`` and
``client.conversations.base_url``) at it.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.twilio.sandbox.auth import TwilioAuth, not_authenticated, twilio_error
from connectors.twilio.sandbox.listing import (
    bad_request,
    date_range,
    legacy_page,
    page_ask,
    v1_page,
    walk_down,
)
from connectors.twilio.sandbox.records import COMPANY_NUMBERS, TwilioRecords, rfc2822
from connectors.twilio.sandbox.state import TwilioAccount
from hub.sandbox.app import SandboxApp
from hub.sandbox.faults import FaultResponder
from hub.sandbox.limits import LimitDecision, WindowLimiter
from hub.sandbox.options import SandboxOptions
from hub.sandbox.pipeline import Decisions, Limit, RequestPipeline, VendorApiError

RELAXED_PER_SECOND = 1_000_000
_ADDRESS = re.compile(r"(whatsapp:)?\+[1-9]\d{6,14}")
MAX_BODY = 1600  # characters of a concatenated message body
ACCOUNT_PATH = "/2010-04-01/Accounts/{account_sid}"


def _derived_hex(seed: int, purpose: str) -> str:
    return hashlib.sha256(f"twilio-sandbox/{seed}/{purpose}".encode()).hexdigest()[:32]


class TwilioFaults(FaultResponder):
    """Injected faults in Twilio's shapes. Every other 429 carries ``Retry-After``: Twilio
    does not promise one on the 2010 API, so clients must back off without it too."""

    def __init__(self) -> None:
        self._limited = 0

    def rate_limited(self, retry_after: float) -> Response:
        self._limited += 1
        headers = {"Retry-After": str(max(1, round(retry_after)))} if self._limited % 2 else {}
        return too_many_requests(**headers)

    def server_error(self, status: int) -> Response:
        code, message = (
            (20503, "Service Unavailable") if status == 503 else (20500, "Internal Server Error")
        )
        return twilio_error(status, code, message)

    def token_expired(self) -> Response:
        return not_authenticated()  # Basic auth only: no token ever expires


def too_many_requests(**headers: str) -> Response:
    """https://www.twilio.com/docs/api/errors/20429: the request was not processed."""
    return twilio_error(429, 20429, "Too Many Requests", **headers)


class TwilioOptions(SandboxOptions):
    """What ``hub sandbox serve twilio --option NAME=VALUE`` accepts."""

    account_sid: str | None = Field(None, description="Account SID (default: derived from seed).")
    auth_token: str | None = Field(None, description="Auth Token (default: derived from seed).")
    api_key_sid: str | None = Field(None, description="API key SID (default: derived).")
    api_key_secret: str | None = Field(None, description="API key secret (default: derived).")
    requests_per_second: int = Field(
        100,
        ge=1,
        description="Requests a second before 429 code 20429 (Twilio limits "
        "concurrency; the sandbox counts a second's requests instead).",
    )
    delivery_seconds: float = Field(
        2.0, gt=0, description="Seconds between a created message's status steps."
    )
    list_lag_seconds: float = Field(
        0.0,
        ge=0,
        description="Seconds before a created message shows in Messages.json lists (fetching "
        "it by sid works at once): a list may lag the create, as an outbox must expect.",
    )


class TwilioSandbox(SandboxApp):
    """Twilio's Messages, Calls and Conversations APIs with lazily generated data.

    Options are declared in :class:`TwilioOptions`; ``clock`` (the server clock) is for tests.
    """

    vendor = "twilio"
    options_model = TwilioOptions
    demo_port = 8104

    def __init__(
        self,
        *,
        records: int,
        seed: int,
        faults: str | None = None,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        opts = self.parse_options(TwilioOptions, options)
        # Derived from the seed, so a sandbox served again after `hub demo` accepts the
        # credentials the demo stored. Sandbox credentials guard nothing real.
        account_sid = opts.account_sid or f"AC{_derived_hex(seed, 'account')}"
        credentials = {
            "account_sid": account_sid,
            "auth_token": opts.auth_token or _derived_hex(seed, "auth_token"),
            "api_key_sid": opts.api_key_sid or f"SK{_derived_hex(seed, 'api_key')}",
            "api_key_secret": opts.api_key_secret or _derived_hex(seed, "api_key_secret"),
        }
        super().__init__(seed=seed, faults=faults, credentials=credentials)
        self.relaxed_limits = opts.relaxed_limits
        self.data = TwilioRecords(records=records, seed=seed, account_sid=account_sid)
        self.account = TwilioAccount(
            self.data,
            delivery_seconds=opts.delivery_seconds,
            list_lag_seconds=opts.list_lag_seconds,
            clock=clock,
        )
        self.auth = TwilioAuth(**credentials)
        per_second = RELAXED_PER_SECOND if opts.relaxed_limits else opts.requests_per_second
        self.limiter = WindowLimiter(per_second, window_seconds=1, clock=clock)
        self.pipeline = RequestPipeline(
            authenticate=self.auth.check,
            render_error=_render_error,
            limits=[Limit("account", self.limiter, _refuse)],
        )

    # -- SandboxApp ---------------------------------------------------------------------------

    def fault_responder(self) -> FaultResponder:
        return TwilioFaults()

    def mutate(self, count: int) -> list[str]:
        return self.account.mutate(count)

    def connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        """Config for the Twilio connector: Account SID + Auth Token against this sandbox."""
        return {
            "base_url": base_url,
            "conversations_base_url": base_url,
            "verify_tls": ca_file if ca_file else True,
            "account_sid": self.credentials["account_sid"],
            "auth_token": self.credentials["auth_token"],
            "sender": COMPANY_NUMBERS[0],  # one of the account's numbers
        }

    def api_key_connection_config(self, base_url: str, ca_file: str | None) -> dict[str, Any]:
        """The same connection authenticated with the API key instead."""
        config = self.connection_config(base_url, ca_file)
        del config["auth_token"]
        return {**config, "api_key_sid": self.credentials["api_key_sid"],
                "api_key_secret": self.credentials["api_key_secret"]}  # fmt: skip

    def routes(self) -> list[BaseRoute]:
        api = self.pipeline.wrap
        return [
            Route(f"{ACCOUNT_PATH}.json", api(self._account)),
            Route(f"{ACCOUNT_PATH}/Messages.json", api(self._list_messages)),
            Route(f"{ACCOUNT_PATH}/Messages.json", api(self._create_message), methods=["POST"]),
            Route(f"{ACCOUNT_PATH}/Messages/{{sid}}.json", api(self._fetch("message"))),
            Route(f"{ACCOUNT_PATH}/Calls.json", api(self._list_calls)),
            Route(f"{ACCOUNT_PATH}/Calls/{{sid}}.json", api(self._fetch("call"))),
            Route("/v1/Conversations", api(self._list_conversations)),
            Route("/v1/Conversations/{sid}", api(self._fetch("conversation"))),
            Route("/{path:path}", api(_not_found), methods=["GET", "POST", "DELETE"]),
        ]

    # -- endpoints ------------------------------------------------------------------------------

    async def _account(self, request: Request) -> Response:
        sid = self.credentials["account_sid"]
        return JSONResponse({
            "sid": sid, "owner_account_sid": sid, "friendly_name": "Hub sandbox account",
            "status": "active", "type": "Full", "auth_token": None,
            "date_created": rfc2822(self.data.ts("message", 0)),
            "date_updated": rfc2822(self.data.ts("message", 0)),
            "uri": f"/2010-04-01/Accounts/{sid}.json",
            "subresource_uris": {"messages": f"/2010-04-01/Accounts/{sid}/Messages.json",
                                 "calls": f"/2010-04-01/Accounts/{sid}/Calls.json"},
        })  # fmt: skip

    async def _list_messages(self, request: Request) -> Response:
        return self._legacy_list(request, "message", "messages", "DateSent")

    async def _list_calls(self, request: Request) -> Response:
        return self._legacy_list(request, "call", "calls", "StartTime")

    def _legacy_list(self, request: Request, kind: str, key: str, date_filter: str) -> Response:
        ask = page_ask(request.query_params)
        low, high = date_range(ask.filters, date_filter)
        parties = {field: ask.filters[name] for name, field in (("To", "to"), ("From", "from"))
                   if name in ask.filters}  # fmt: skip
        base = _base(request)

        def accept(position: int) -> bool:
            if not self.account.listed(kind, position):
                return False
            if not parties:
                return True
            record = self.account.record_at(kind, position, base)
            return all(record[field] == value for field, value in parties.items())

        records, more = self._walk(kind, ask.after_sid, low, high, ask.size, accept)
        return JSONResponse(
            legacy_page(key, [self.account.record_at(kind, p, base) for p in records],
                        path=request.url.path, ask=ask, more=more)
        )  # fmt: skip

    async def _list_conversations(self, request: Request) -> Response:
        ask = page_ask(request.query_params)
        low, high = date_range(_v1_dates(ask.filters), "Created")
        state = ask.filters.get("State")
        base = _base(request)

        def accept(position: int) -> bool:
            return (
                state is None
                or self.account.record_at("conversation", position, base)["state"] == state
            )

        found, more = self._walk("conversation", ask.after_sid, low, high, ask.size, accept)
        records = [self.account.record_at("conversation", p, base) for p in found]
        return JSONResponse(
            v1_page("conversations", records, url=f"{base}/v1/Conversations", ask=ask, more=more)
        )

    def _walk(
        self, kind: str, after_sid: str | None, low: int | None, high: int | None, size: int,
        accept: Callable[[int], bool],
    ) -> tuple[list[int], bool]:  # fmt: skip
        """Positions of ``kind`` in ``[low, high)``, newest first, after the token's record."""
        top = self.account.total(kind) if high is None else self.account.position_at(kind, high)
        if after_sid is not None:
            after = self.account.position_of(kind, after_sid)
            if after is None:
                raise bad_request("Invalid PageToken")
            top = min(top, after)
        return walk_down(top, self.account.position_at(kind, low), size, accept)

    def _fetch(self, kind: str) -> Callable[[Request], Any]:
        async def fetch(request: Request) -> Response:
            position = self.account.position_of(kind, request.path_params["sid"])
            if position is None:
                raise VendorApiError(
                    404, "20404", f"The requested resource {request.url.path} was not found"
                )
            return JSONResponse(self.account.record_at(kind, position, _base(request)))

        return fetch

    async def _create_message(self, request: Request) -> Response:
        """``POST Messages.json``, form-encoded; Twilio takes no idempotency key here."""
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        to, sender = form.get("To"), form.get("From")
        service = form.get("MessagingServiceSid")
        if not to:
            raise VendorApiError(400, "21604", "A 'To' phone number is required.")
        if not sender and not service:
            raise VendorApiError(400, "21603", "A 'From' phone number is required.")
        if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
            raise VendorApiError(400, "21602", "Message body is required.")
        if not _ADDRESS.fullmatch(to):
            raise VendorApiError(400, "21211", "Invalid 'To' Phone Number")
        if len(form.get("Body", "")) > MAX_BODY:
            raise VendorApiError(
                400, "21617", "The concatenated message body exceeds the 1600 character limit."
            )
        record = self.account.create_message(
            {"to": to, "from": sender, "messaging_service_sid": service, "body": form.get("Body")}
        )
        return JSONResponse(record, status_code=201)


def _v1_dates(filters: dict[str, str]) -> dict[str, str]:
    """Conversations' ``StartDate``/``EndDate`` (on or after / on or before, by creation) in
    the ``Name>``/``Name<`` form :func:`date_range` reads."""
    renamed = {}
    if "StartDate" in filters:
        renamed["Created>"] = filters["StartDate"]
    if "EndDate" in filters:
        renamed["Created<"] = filters["EndDate"]
    return renamed


def _refuse(decision: LimitDecision, taken: Decisions) -> Response:
    # Twilio's concurrency limit answers without Retry-After [uncertain: some APIs send one].
    return too_many_requests()


def _render_error(error: VendorApiError) -> Response:
    return twilio_error(error.status, int(error.code), error.message)


def _base(request: Request) -> str:
    """Scheme, host and port as the client called us, for v1's absolute URLs."""
    return f"{request.url.scheme}://{request.url.netloc}"


async def _not_found(request: Request) -> Response:
    raise VendorApiError(404, "20404", f"The requested resource {request.url.path} was not found")
