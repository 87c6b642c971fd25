"""What every Salesforce answer says about the org: its API usage (``Sforce-Limit-Info:
api-usage=18/5000``) and its clock (``Date``), read so a run stops before it spends more than
its share of the daily allowance and bounds its reads by the server's time, not ours.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from hub.errors import QuotaSpent
from hub.http import ServerClock

_API_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class ApiUsage:
    used: int
    allowed: int


def parse_api_usage(header: str | None) -> ApiUsage | None:
    """``api-usage=N/M`` of a ``Sforce-Limit-Info`` header, or None."""
    match = _API_USAGE.search(header or "")
    return None if match is None else ApiUsage(int(match.group(1)), int(match.group(2)))


class OrgState:
    """The org's last known API usage and clock, updated from every answer."""

    def __init__(self, share_limit: float) -> None:
        self.share_limit = share_limit
        self.usage: ApiUsage | None = None
        # The end of the second a Date names: reads bounded by it (with no safety margin) must
        # reach what the org stamped within that second; the margin covers the rest.
        self.server_clock = ServerClock(into_second=1.0)

    def observe(self, response: httpx.Response) -> None:
        """Keep the usage and the server's clock that ``response`` shows."""
        usage = parse_api_usage(response.headers.get("sforce-limit-info"))
        if usage is not None:
            self.usage = usage
        self.server_clock.observe(response)

    def refuse_if_spent(self, connection: str, stream: str | None) -> None:
        """QuotaSpent when the usage reached the configured share of the daily allowance."""
        usage = self.usage
        if usage is None or usage.used < self.share_limit * usage.allowed:
            return
        raise QuotaSpent(
            f"Salesforce reports {usage.used:,} of the org's {usage.allowed:,} daily API "
            f"requests used, at or past the configured stop at {self.share_limit:.0%} "
            "(api_share_limit); stopped with the cursor kept, the next run continues",
            connection=connection,
            stream=stream,
        )
