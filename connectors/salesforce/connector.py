"""The Salesforce Service Cloud connector: accounts, contacts, cases, entitlements, service
contracts, assets, products and users read incrementally by SystemModstamp with SOQL
``queryAll`` (deletions included), and cases upserted by external id.

Every call goes through :meth:`request_json`, which reads each answer's ``Sforce-Limit-Info``
and ``Date`` (:mod:`.limits`) before handing it on to the retrying machinery of
:mod:`hub.http`. https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.limits import OrgState
from connectors.salesforce.soql import STREAMS, incremental_query
from connectors.salesforce.writes import SalesforceWrites
from hub.connector import Page, Stream
from hub.errors import AuthError, ConnectorError
from hub.http import (
    ClientCredentialsGrant,
    Grant,
    JwtBearerGrant,
    OAuth2,
    OAuthClient,
    VendorErrors,
)
from hub.paging import NextUrlPaginator, PageRequest, RestStream, Watermark

TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a secret
# The org's allowance is spent for the day: stop, never retry (the body is a JSON array).
SALESFORCE_ERRORS = VendorErrors(quota_codes=frozenset({"REQUEST_LIMIT_EXCEEDED"}))


def _locator_expired(error: ConnectorError) -> bool:
    """A stored ``nextRecordsUrl`` whose query locator Salesforce dropped (idle locators
    expire after about 15 minutes): the run queries its bounds again."""
    return error.status == 400 and error.vendor_code == "INVALID_QUERY_LOCATOR"


def soql_datetime(instant: datetime) -> str:
    """A SOQL dateTime literal in whole seconds (SOQL takes no fractions): a lower bound
    rounded down skips nothing, an upper bound rounded down leaves rows for the next run."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


# What a customer is entitled to must be at most 15 minutes behind Salesforce: agents answer
# from it. A 5-minute interval leaves room for two failed fires before the target is missed.
CONTRACT_STREAMS = frozenset({"Entitlement", "ServiceContract"})


def _stream(name: str, object_type: str, description: str) -> Stream:
    if name in CONTRACT_STREAMS:
        return Stream(
            name,
            object_type,
            description,
            "SystemModstamp",
            default_interval=timedelta(minutes=5),
            drift_target=timedelta(minutes=15),
        )
    return Stream(name, object_type, description, "SystemModstamp")


class SalesforceConnector(SalesforceWrites):
    """Reads a Salesforce org and writes cases and contact addresses back."""

    name: ClassVar[str] = "salesforce"
    title: ClassVar[str] = "Salesforce Service Cloud"
    config_model: ClassVar[type[SalesforceConfig]] = SalesforceConfig
    streams: ClassVar[tuple[Stream, ...]] = tuple(
        _stream(name, spec.object_type, spec.description) for name, spec in STREAMS.items()
    )
    vendor_errors: ClassVar[VendorErrors] = SALESFORCE_ERRORS

    config: SalesforceConfig

    def __init__(self, config: SalesforceConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.org = OrgState(config.api_share_limit)

    # -- connection -------------------------------------------------------------------------

    def auth(self) -> httpx.Auth:
        """Bearer sessions from the org's token endpoint; its ``instance_url`` becomes the
        base of every API call. Salesforce gives no expiry: a 401 ``INVALID_SESSION_ID``
        asks for a new session once, then the request is sent again."""
        return OAuth2(
            self._grant(),
            token_url=f"{self.config.base_url}{TOKEN_PATH}",
            on_token=lambda answer: answer.get("instance_url"),
            vendor_errors=SALESFORCE_ERRORS,
        )

    def _grant(self) -> Grant:
        config = self.config
        if config.uses_jwt:
            assert config.private_key is not None and config.username is not None
            return JwtBearerGrant(
                issuer=config.client_id,
                subject=config.username,
                audience=config.jwt_audience,
                private_key=config.private_key,
            )
        return ClientCredentialsGrant(OAuthClient(config.client_id, config.client_secret))

    async def check(self) -> None:
        """``GET /limits``: proves the session and reads the daily allowance."""
        _, body = await self.request_json("GET", f"{self.config.api_prefix}/limits")
        daily = body.get("DailyApiRequests") if isinstance(body, dict) else None
        if not isinstance(daily, dict) or "Max" not in daily:
            raise AuthError(
                "Salesforce answered /limits without DailyApiRequests", connection=self.connection
            )

    async def request_json(
        self, method: str, url: str, *, retry_safe: bool = False, **kwargs: Any
    ) -> tuple[httpx.Response, Any]:
        """One request, refused before it is sent when the org's API usage has reached the
        configured share of its daily allowance; its answer updates what we know."""
        self.org.refuse_if_spent(self.connection, kwargs.get("stream"))
        response, body = await super().request_json(method, url, retry_safe=retry_safe, **kwargs)
        self.org.observe(response)
        return response, body

    # -- reading ----------------------------------------------------------------------------

    async def read(self, stream: str, state: dict[str, Any] | None) -> AsyncIterator[Page]:
        """The stream's pages, after one ``GET /limits`` that is sent whatever the usage we
        knew: it renews the org's clock and usage (a day later the allowance has rolled on),
        so the upper bound comes from the server's clock and the share check from today."""
        response, _ = await super().request_json(
            "GET", f"{self.config.api_prefix}/limits", stream=stream
        )
        self.org.observe(response)
        self.org.refuse_if_spent(self.connection, stream)
        async for page in super().read(stream, state):
            yield page

    def reading(self, stream: str) -> RestStream:
        """``queryAll`` of ``[lower, upper)`` by SystemModstamp: lower ``overlap_seconds``
        before the newest stamp seen, upper ``safety_margin_seconds`` behind the server's
        clock; the watermark drops the unchanged rows the overlap reads again."""
        config = self.config
        spec = STREAMS[stream]
        headers = (
            {"Sforce-Query-Options": f"batchSize={config.page_size}"} if config.page_size else {}
        )

        def query(bounds: Mapping[str, Any]) -> dict[str, Any]:
            return {"q": incremental_query(spec, bounds["since"], bounds.get("until"))}

        return RestStream(
            PageRequest(f"{config.api_prefix}/queryAll", headers=headers),
            records="records",
            paginator=NextUrlPaginator("nextRecordsUrl"),
            cursor=Watermark(
                "SystemModstamp",
                initial=config.start,
                param="since",
                end_param="until",
                render=soql_datetime,
                lookback=timedelta(seconds=config.overlap_seconds),
                lag=timedelta(seconds=config.safety_margin_seconds),
                clock=self.org.server_clock.now,
                expired=_locator_expired,
            ),
            bounds_to_params=query,
        )
