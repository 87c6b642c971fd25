"""The Twilio connector: messages and calls of the 2010-04-01 API and Conversations v1, read
by their date filters with a lookback re-read, since their statuses keep changing.

Vendor reference: https://www.twilio.com/docs/usage/api (paging, errors),
https://www.twilio.com/docs/messaging/api/message-resource ,
https://www.twilio.com/docs/voice/api/call-resource and
https://www.twilio.com/docs/conversations/api/conversation-resource . Every call goes
through :meth:`Connector.request_json`, so retries (429 with code 20429, with or without
``Retry-After``), error codes and request counting live once in :mod:`hub.http`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx

from connectors.twilio.config import AuthForm, TwilioConfig
from hub.connector import Connector, OutboundMessage, Stream, WriteResult
from hub.errors import AuthError, ConfigError, VendorError
from hub.paging import (
    NextUrlPaginator,
    PageRequest,
    RestStream,
    Watermark,
    read_stream,
    utc_date,
    utc_day_start,
)
from hub.paging.instants import Render

API_VERSION = "2010-04-01"


class TwilioConnector(Connector):
    """Reads a Twilio account's messages, calls and conversations."""

    name: ClassVar[str] = "twilio"
    title: ClassVar[str] = "Twilio"
    config_model: ClassVar[type[TwilioConfig]] = TwilioConfig
    streams: ClassVar[tuple[Stream, ...]] = (
        Stream("messages", "message", "SMS, MMS and WhatsApp messages.", "date_sent"),
        Stream("calls", "call", "Voice calls.", "start_time"),
        Stream("conversations", "conversation", "Conversations (v1) threads.", "date_created"),
    )

    config: TwilioConfig  # narrowed for the type checker; the hub validates it against the model

    # -- connection ------------------------------------------------------------------

    def auth(self) -> httpx.Auth:
        """HTTP Basic with the Account SID and Auth Token, or an API key SID and secret."""
        config = self.config
        if config.auth_form() is AuthForm.API_KEY:
            secret = config.api_key_secret.get_secret_value() if config.api_key_secret else ""
            return httpx.BasicAuth(config.api_key_sid or "", secret)
        token = config.auth_token.get_secret_value() if config.auth_token else ""
        return httpx.BasicAuth(config.account_sid, token)

    @property
    def account_path(self) -> str:
        """``/2010-04-01/Accounts/{AccountSid}``: every 2010 API resource lives under it."""
        return f"/{API_VERSION}/Accounts/{self.config.account_sid}"

    async def check(self) -> None:
        """``GET /2010-04-01/Accounts/{AccountSid}.json``: the account the credentials open."""
        _, body = await self.request_json("GET", f"{self.account_path}.json")
        if not isinstance(body, dict) or body.get("sid") != self.config.account_sid:
            raise AuthError(
                "Twilio answered the account fetch with another account: "
                "check account_sid and the credentials",
                connection=self.connection,
            )

    # -- reading ---------------------------------------------------------------------

    def reading(self, stream: str) -> RestStream:
        """How ``stream`` is read, as a declaration on :mod:`hub.paging`."""
        size = {"PageSize": self.config.page_size}
        if stream == "conversations":
            # v1 lives on its own host and pages by the absolute ``meta.next_page_url``;
            # ``StartDate`` (start of a UTC day) filters on creation, newest first.
            origin = self.config.conversations_base_url
            return RestStream(
                PageRequest(f"{origin}/v1/Conversations", params=size),
                records="conversations",
                paginator=NextUrlPaginator("meta.next_page_url", origin=origin),
                cursor=self._since("date_created", "StartDate", utc_day_start),
            )
        # 2010 API: ``.json`` paths, relative ``next_page_uri``; ``DateSent>=D`` and
        # ``StartTime>=D`` are on-or-after a UTC day (on the wire ``DateSent%3E=D``).
        resource, field, param = {
            "messages": ("Messages", "date_sent", "DateSent>"),
            "calls": ("Calls", "start_time", "StartTime>"),
        }[stream]
        return RestStream(
            PageRequest(f"{self.account_path}/{resource}.json", params=size),
            records=resource.lower(),
            paginator=NextUrlPaginator("next_page_uri"),
            cursor=self._since(field, param, utc_date),
        )

    def _since(self, field: str, param: str, render: Render) -> Watermark:
        """A watermark on ``field`` from the configured start; each run re-reads
        ``lookback_hours`` before the newest value seen (statuses change after creation),
        and the re-read records that did not change are dropped by digest."""
        return Watermark(
            field,
            initial=self.config.start(),
            param=param,
            render=render,
            lookback=timedelta(hours=self.config.lookback_hours),
        )

    # -- sending ---------------------------------------------------------------------

    async def send_message(self, message: OutboundMessage) -> WriteResult:
        """``POST Messages.json`` (form-encoded). Twilio takes no idempotency key here, so
        hub.http does not resend it after a 5xx or a lost answer: the outbox reconciles."""
        form = {"To": message.to, "Body": message.body, **self._sender(message)}
        _, body = await self.request_json("POST", f"{self.account_path}/Messages.json", data=form)
        sid = body.get("sid") if isinstance(body, dict) else None
        if not isinstance(sid, str):
            raise VendorError(
                "Messages.json answered without a message sid", connection=self.connection
            )
        return WriteResult(external_id=sid, created=True, record=body)

    async def find_sent_message(
        self, message: OutboundMessage, *, since: datetime, exclude: frozenset[str]
    ) -> str | None:
        """The sid of an outbound message to ``message.to`` with its body, created at or
        after ``since`` and not in ``exclude``: Twilio lists by ``To`` and ``DateSent>=``."""
        params = {"To": message.to, "DateSent>": utc_date(since), "PageSize": self.config.page_size}
        listing = RestStream(
            PageRequest(f"{self.account_path}/Messages.json", params=params),
            records="messages",
            paginator=NextUrlPaginator("next_page_uri"),
        )
        async for page in read_stream(self, "messages", listing, None):
            for record in page.records:
                if _is_the_send(record, message, since) and record.get("sid") not in exclude:
                    return str(record["sid"])
        return None

    def _sender(self, message: OutboundMessage) -> dict[str, str]:
        if message.sender is not None:
            return {"From": message.sender}
        if self.config.messaging_service_sid is not None:
            return {"MessagingServiceSid": self.config.messaging_service_sid}
        if self.config.sender is not None:
            return {"From": self.config.sender}
        raise ConfigError(
            f"connection {self.connection!r} has no sender: set `sender` or `messaging_service_sid`"
        )


def _is_the_send(record: Any, message: OutboundMessage, since: datetime) -> bool:
    """Whether a listed message is ``message`` as the hub sent it after ``since``."""
    if not isinstance(record, dict) or record.get("direction") != "outbound-api":
        return False
    if record.get("to") != message.to or record.get("body") != message.body:
        return False
    try:
        created = parsedate_to_datetime(str(record.get("date_created")))
    except (TypeError, ValueError):
        return False
    return created >= since
