"""Configuration of one Salesforce connection: the org's login URL, the connected app's
credentials (client credentials, or JWT bearer with the integration user and private key),
how incremental reads are bounded and how much of the daily API allowance a run may use."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from hub.connector import ConnectorConfig
from hub.models import Pii
from hub.paging.instants import to_instant

MAX_BATCH = 2000  # Salesforce's most rows in one query page


class SalesforceConfig(ConnectorConfig):
    """A Salesforce org. ``base_url`` is where its token endpoint lives (the My Domain URL,
    ``https://acme.my.salesforce.com``); the API is called on the token's ``instance_url``."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    client_id: str = Field(description="The connected app's consumer key.")
    client_secret: SecretStr | None = Field(
        default=None, description="Consumer secret, for the client credentials flow."
    )
    username: Annotated[str | None, Pii()] = Field(
        default=None, repr=False, description="Integration user, for the JWT bearer flow."
    )
    private_key: SecretStr | None = Field(
        default=None, description="PEM RSA key signing the JWT bearer assertion."
    )
    jwt_audience: str = Field(
        default="https://login.salesforce.com",
        description="The JWT's aud: login.salesforce.com, test.salesforce.com or My Domain.",
    )
    api_version: str = Field(
        default="59.0", pattern=r"^\d{2}\.0$", description="REST API version, e.g. 59.0."
    )
    page_size: int | None = Field(
        default=None,
        ge=1,
        le=MAX_BATCH,
        description="Rows a query page asks for (Sforce-Query-Options batchSize; Salesforce "
        "honours 200 to 2,000 and may send fewer).",
    )
    start: str = Field(
        default="2000-01-01T00:00:00Z", description="SystemModstamp the first backfill starts at."
    )
    safety_margin_seconds: int = Field(
        default=120,
        ge=0,
        description="A read stops this far behind the server's clock, so rows whose "
        "transactions are still committing are read by the next run.",
    )
    overlap_seconds: int = Field(
        default=600,
        ge=0,
        description="Each run starts this far before the newest SystemModstamp seen, so a "
        "row committed late with an older stamp is still read.",
    )
    api_share_limit: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Stop before this share of the org's daily API allowance is used.",
    )
    case_external_id_field: str = Field(
        default="Hub_Key__c",
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="Case field (External ID) that case upserts match on.",
    )

    case_tags_field: str = Field(
        default="Hub_Tags__c",
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="Case field that pushed tags are written to, joined by ';' (a "
        "multi-select picklist or text field; Cases have no standard tags).",
    )
    case_reference_field: str = Field(
        default="Hub_Reference__c",
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="Case text field that a pushed case's id in another system is written to.",
    )

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "base_url must be an http(s) URL such as https://acme.my.salesforce.com"
            )
        return value.rstrip("/")

    @field_validator("start")
    @classmethod
    def _start_is_a_time(cls, value: str) -> str:
        if to_instant(value) is None:
            raise ValueError("start must be an ISO-8601 dateTime such as 2024-01-01T00:00:00Z")
        return value

    @model_validator(mode="after")
    def _one_flow(self) -> SalesforceConfig:
        jwt = self.username is not None or self.private_key is not None
        if jwt and self.client_secret is not None:
            raise ValueError(
                "give either client_secret (client credentials) or username + private_key "
                "(JWT bearer), not both"
            )
        if jwt and (self.username is None or self.private_key is None):
            missing = "username" if self.username is None else "private_key"
            raise ValueError(f"the JWT bearer flow needs username, private_key; missing: {missing}")
        if not jwt and self.client_secret is None:
            raise ValueError(
                "no credentials: give client_secret, or username + private_key (JWT bearer)"
            )
        return self

    @property
    def uses_jwt(self) -> bool:
        return self.private_key is not None

    @property
    def api_prefix(self) -> str:
        return f"/services/data/v{self.api_version}"
