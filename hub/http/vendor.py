"""What a vendor's answer says beyond its status: the machine-readable error code in its body
and how long its ``Retry-After`` header asks us to wait."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

_CODE_SHAPE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def vendor_error_code(body: Any) -> str | None:
    """The vendor's machine-readable error code in a decoded error body, if it has one.

    Knows Zendesk ``{"error": "RecordInvalid"}``, Salesforce ``[{"errorCode": ...}]``, Twilio
    ``{"code": 20404}``, Genesys ``{"code": "not.found"}`` and ``{"errors": [{"code": ...}]}``.
    Only identifier-like codes are returned: free text may echo the values that were sent.
    """
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, dict):
        return None
    for key in ("errorCode", "error", "code"):
        value = body.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value)
            return text if _CODE_SHAPE.fullmatch(text) else None
    errors = body.get("errors")
    return vendor_error_code(errors) if isinstance(errors, list) else None


def response_error_code(response: httpx.Response) -> str | None:
    """:func:`vendor_error_code` of a response's body; None when the body is not JSON."""
    try:
        return vendor_error_code(response.json())
    except ValueError:  # not JSON (Zendesk sends text/plain on some errors)
        return None


_DELTA_SECONDS = re.compile(r"\d+(?:\.\d+)?")  # RFC 9110 says digits; some send decimals


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, delta-seconds or HTTP-date; None when
    absent or unreadable. A date in the past means 0."""
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
