"""Configuration of one Genesys Cloud connection: the region (a name, or explicit API and
login hosts), the OAuth client, and how conversations are read.

Genesys Cloud serves each region from ``https://api.{host}`` and issues tokens at
``https://login.{host}/oauth/token`` (the SDK's ``purecloud_region_hosts.py``; vendor-apis.md
4.1). Give ``region`` (``us_east_1`` or the host ``mypurecloud.com``), or ``base_url`` and
``login_url`` for anything else (a sandbox, a gateway).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from hub.connector import ConnectorConfig

REGION_HOSTS = {
    "us_east_1": "mypurecloud.com",
    "eu_west_1": "mypurecloud.ie",
    "ap_southeast_2": "mypurecloud.com.au",
    "ap_northeast_1": "mypurecloud.jp",
    "eu_central_1": "mypurecloud.de",
    "us_west_2": "usw2.pure.cloud",
    "ca_central_1": "cac1.pure.cloud",
    "ap_northeast_2": "apne2.pure.cloud",
    "eu_west_2": "euw2.pure.cloud",
    "ap_south_1": "aps1.pure.cloud",
    "us_east_2": "use2.us-gov-pure.cloud",
    "sa_east_1": "sae1.pure.cloud",
    "me_central_1": "mec1.pure.cloud",
    "ap_northeast_3": "apne3.pure.cloud",
    "eu_central_2": "euc2.pure.cloud",
    "mx_central_1": "mxc1.pure.cloud",
    "ap_southeast_1": "apse1.pure.cloud",
}
# The details query takes at most 100 conversations a page; listings up to 500 entities.
MAX_QUERY_PAGE_SIZE = 100
MAX_LIST_PAGE_SIZE = 500


def region_host(region: str) -> str:
    """The host suffix of ``region``: a region name or one of the hosts themselves."""
    if region in REGION_HOSTS:
        return REGION_HOSTS[region]
    if region in REGION_HOSTS.values():
        return region
    raise ValueError(f"unknown region; give one of {', '.join(REGION_HOSTS)} or base_url")


class GenesysConfig(ConnectorConfig):
    """A Genesys Cloud organisation and the OAuth client (client credentials) that reads it."""

    # Validation errors must never echo the raw input: it holds the credentials.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    base_url: str = Field(default="", description="API host URL; derived from `region`.")
    region: str | None = Field(
        default=None, description="Region name (us_east_1, eu_west_1, ...) or host suffix."
    )
    login_url: str | None = Field(
        default=None, description="Login host URL for /oauth/token; derived like base_url."
    )
    client_id: str = Field(description="OAuth client id (client credentials grant).")
    client_secret: SecretStr = Field(description="OAuth client secret.")
    page_size: int = Field(
        default=MAX_QUERY_PAGE_SIZE, ge=1, le=MAX_QUERY_PAGE_SIZE,
        description="Conversations per details-query page, and entities per listing page.",
    )  # fmt: skip
    start_date: datetime = Field(
        default=datetime(2020, 1, 1, tzinfo=UTC),
        description="Where the first conversations backfill starts (ISO-8601).",
    )
    window_days: int = Field(
        default=7, ge=1, le=31, description="Length of each details-query interval."
    )
    lookback_hours: int = Field(
        default=72, ge=0,
        description="Each run re-reads conversations started this long before the newest "
        "one seen: conversations change after they end (late wrap-up, surveys).",
    )  # fmt: skip
    async_backfill_days: int = Field(
        default=31, ge=0,
        description="A run covering more days than this reads through an asynchronous details "
        "job instead of the paged query (0: always).",
    )  # fmt: skip
    job_poll_seconds: float = Field(
        default=2.0, gt=0, le=60, description="First pause between details-job status polls."
    )
    requests_per_minute: int = Field(
        default=300, ge=1, description="The OAuth client's request limit (Genesys: 300/min)."
    )

    @field_validator("start_date")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @model_validator(mode="before")
    @classmethod
    def _hosts_from_region(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        region = data.get("region")
        if region is None:
            if not data.get("base_url"):
                raise ValueError("give region, or base_url (and login_url)")
            return data
        if data.get("base_url") or data.get("login_url"):
            raise ValueError("give either region or base_url/login_url, not both")
        host = region_host(str(region))
        return {**data, "base_url": f"https://api.{host}", "login_url": f"https://login.{host}"}

    @field_validator("base_url", "login_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://api.mypurecloud.com")
        return value.rstrip("/")

    def token_url(self) -> str:
        """``/oauth/token`` on the login host; without one, the SDK's rule: the API host with
        ``//api.`` replaced by ``//login.`` (for a local host, the same host)."""
        login = self.login_url or self.base_url.replace("//api.", "//login.", 1)
        return f"{login}/oauth/token"
