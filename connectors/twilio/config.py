"""Configuration of one Twilio connection: the account, how it authenticates, how it reads.

Two credential forms exist and exactly one must be given (https://www.twilio.com/docs/usage/requests-to-twilio):

* the Account SID and its Auth Token, sent as HTTP Basic ``{account_sid}:{auth_token}``;
* an API key (``api_key_sid`` ``SK...`` and ``api_key_secret``), sent as HTTP Basic
  ``{api_key_sid}:{api_key_secret}``; the Account SID still names the account in every path.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from hub.connector import ConnectorConfig

# Twilio's documented page-size ceiling for list resources (``PageSize`` 1..1000).
MAX_PAGE_SIZE = 1000
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_API_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")


class AuthForm(StrEnum):
    """Which credential form a config uses (names of forms, not credentials)."""

    AUTH_TOKEN = "auth_token"  # noqa: S105
    API_KEY = "api_key"


class TwilioConfig(ConnectorConfig):
    """A Twilio account and the credentials to read its messages, calls and conversations."""

    # Validation errors must never echo the raw input: it holds the credentials.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    base_url: str = Field(
        default="https://api.twilio.com", description="The 2010-04-01 REST API's origin."
    )
    conversations_base_url: str = Field(
        default="https://conversations.twilio.com",
        description="The Conversations v1 API's origin (a host of its own at Twilio).",
    )
    account_sid: str = Field(description="The account's SID (AC followed by 32 hex digits).")
    auth_token: SecretStr | None = Field(default=None, description="The account's Auth Token.")
    api_key_sid: str | None = Field(default=None, description="API key SID (SK...), instead.")
    api_key_secret: SecretStr | None = Field(default=None, description="The API key's secret.")
    page_size: int = Field(
        default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Records per request."
    )
    start_date: date = Field(
        default=date(2008, 1, 1), description="The day the first backfill starts from (UTC)."
    )
    lookback_hours: int = Field(
        default=72,
        ge=0,
        description="How far before the newest record seen each run starts again: a "
        "message's or call's status, price and duration keep changing after it is created, "
        "and Twilio has no 'modified since' filter.",
    )

    sender: str | None = Field(
        default=None, description="The number (E.164) or whatsapp: address messages come from."
    )
    messaging_service_sid: str | None = Field(
        default=None, description="A Messaging Service (MG...) to send from instead."
    )

    @field_validator("base_url", "conversations_base_url")
    @classmethod
    def _is_http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://api.twilio.com")
        return value.rstrip("/")

    @field_validator("account_sid")
    @classmethod
    def _is_account_sid(cls, value: str) -> str:
        if not _ACCOUNT_SID.fullmatch(value):
            raise ValueError("account_sid must be AC followed by 32 hex digits")
        return value

    @field_validator("api_key_sid")
    @classmethod
    def _is_api_key_sid(cls, value: str | None) -> str | None:
        if value is not None and not _API_KEY_SID.fullmatch(value):
            raise ValueError("api_key_sid must be SK followed by 32 hex digits")
        return value

    @model_validator(mode="after")
    def _exactly_one_auth_form(self) -> TwilioConfig:
        self.auth_form()  # raises ValueError naming the fields when the forms are mixed
        return self

    def auth_form(self) -> AuthForm:
        """The one credential form this config uses; ValueError names the fields otherwise."""
        key = self.api_key_sid is not None or self.api_key_secret is not None
        if key and self.auth_token is not None:
            raise ValueError("give either auth_token or api_key_sid + api_key_secret, not both")
        if key:
            missing = [n for n in ("api_key_sid", "api_key_secret") if getattr(self, n) is None]
            if missing:
                raise ValueError(
                    f"API-key auth needs api_key_sid, api_key_secret; missing: {', '.join(missing)}"
                )
            return AuthForm.API_KEY
        if self.auth_token is None:
            raise ValueError("no credentials: give auth_token, or api_key_sid + api_key_secret")
        return AuthForm.AUTH_TOKEN

    def start(self) -> datetime:
        """``start_date`` as the instant the first run's date filters start from."""
        return datetime(
            self.start_date.year, self.start_date.month, self.start_date.day, tzinfo=UTC
        )
