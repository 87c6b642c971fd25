"""Configuration of one Zendesk connection: where it is, how it authenticates, how fast it reads.

Three auth forms exist and exactly one must be given:

* API token: ``email`` + ``token`` (HTTP Basic ``{email}/token:{token}``);
* OAuth client credentials: ``oauth_client_id`` + ``oauth_client_secret`` (the connector asks
  ``POST /oauth/tokens`` for a bearer token and asks again when it expires);
* OAuth access token: ``access_token``, optionally with ``refresh_token`` (which then also needs
  ``oauth_client_id`` + ``oauth_client_secret``, as Zendesk's refresh grant requires them).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from hub.connector import ConnectorConfig, EmailAddress
from hub.models import Pii

# Zendesk's documented page-size ceilings: incremental exports return up to 1000 items per
# page, cursor-paginated lists (``page[size]``) at most 100.
EXPORT_MAX_PAGE_SIZE = 1000
LIST_MAX_PAGE_SIZE = 100


class AuthForm(StrEnum):
    """Which of the three credential forms a config uses (names of forms, not credentials)."""

    API_TOKEN = "api_token"  # noqa: S105
    CLIENT_CREDENTIALS = "client_credentials"
    ACCESS_TOKEN = "access_token"  # noqa: S105


class ZendeskConfig(ConnectorConfig):
    """A Zendesk Support account and the credentials to read it and write tickets back."""

    # Validation errors must never echo the raw input: it holds the credentials.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    # A person's login: sealed at rest like a customer's email. EmailAddress refuses what
    # is not an email address when the connection is added.
    email: Annotated[EmailAddress | None, Pii()] = Field(
        default=None, repr=False, description="Agent email for API-token auth."
    )
    token: SecretStr | None = Field(default=None, description="API token (with `email`).")
    oauth_client_id: str | None = Field(
        default=None, description="OAuth client's unique identifier."
    )
    oauth_client_secret: SecretStr | None = Field(default=None, description="OAuth client secret.")
    oauth_scope: str = Field(default="read write", description="Scope asked of /oauth/tokens.")
    access_token: SecretStr | None = Field(default=None, description="A ready OAuth token.")
    refresh_token: SecretStr | None = Field(
        default=None, description="Refresh token for `access_token` (needs the client id/secret)."
    )
    page_size: int | None = Field(
        default=None,
        ge=1,
        le=EXPORT_MAX_PAGE_SIZE,
        description="Records per request; default 1000 for exports, 100 for cursor lists "
        "(lists are capped at 100 whatever is set).",
    )
    start_time: int = Field(
        default=0, ge=0, description="Unix seconds the first backfill starts from."
    )
    incremental_requests_per_minute: int = Field(
        default=10, ge=1, description="Zendesk's limit for incremental exports."
    )
    requests_per_minute: int = Field(
        default=700, ge=1, description="Account-wide limit of the Zendesk plan."
    )
    satisfaction_ratings_lookback_seconds: int = Field(
        default=4 * 24 * 3600,
        ge=0,
        description="How far before the newest rating seen the next satisfaction-ratings run "
        "starts, so ratings changed after they were offered are read again.",
    )

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an http(s) URL such as https://acme.zendesk.com")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _exactly_one_auth_form(self) -> ZendeskConfig:
        self.auth_form()  # raises ValueError naming the fields when the forms are mixed
        return self

    def auth_form(self) -> AuthForm:
        """The one credential form this config uses; ValueError names the fields otherwise."""
        api_token = self.email is not None or self.token is not None
        access = self.access_token is not None or self.refresh_token is not None
        client = self.oauth_client_id is not None or self.oauth_client_secret is not None
        if api_token and (access or client):
            raise ValueError(
                "give either email + token (API token) or the OAuth fields "
                "(oauth_client_id, oauth_client_secret, access_token, refresh_token), not both"
            )
        if api_token:
            _require(self, "API-token auth", "email", "token")
            return AuthForm.API_TOKEN
        if access:
            _require(self, "OAuth access-token auth", "access_token")
            if self.refresh_token is not None or client:
                _require(
                    self,
                    "refreshing an OAuth access token",
                    "refresh_token",
                    "oauth_client_id",
                    "oauth_client_secret",
                )
            return AuthForm.ACCESS_TOKEN
        if client:
            _require(
                self, "OAuth client-credentials auth", "oauth_client_id", "oauth_client_secret"
            )
            return AuthForm.CLIENT_CREDENTIALS
        raise ValueError(
            "no credentials: give email + token, or oauth_client_id + oauth_client_secret, "
            "or access_token"
        )

    def export_page_size(self) -> int:
        """Page size for incremental exports (``per_page``)."""
        return self.page_size or EXPORT_MAX_PAGE_SIZE

    def list_page_size(self) -> int:
        """Page size for cursor-paginated lists (``page[size]``), within Zendesk's cap."""
        return min(self.page_size or LIST_MAX_PAGE_SIZE, LIST_MAX_PAGE_SIZE)


def _require(config: ZendeskConfig, purpose: str, *fields: str) -> None:
    missing = [name for name in fields if getattr(config, name) is None]
    if missing:
        raise ValueError(f"{purpose} needs {', '.join(fields)}; missing: {', '.join(missing)}")
