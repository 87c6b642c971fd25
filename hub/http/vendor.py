"""What a vendor's answer says beyond its status: the machine-readable error code in its body
(read as its connector describes, see :class:`VendorErrors`) and how long its ``Retry-After``
header asks us to wait."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from hub.log import redact

DETAIL_LIMIT = 300  # characters of a vendor's error message kept in an error
_CODE_SHAPE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Keys under which error bodies commonly carry a machine-readable code, most specific first.
_CODE_KEYS = ("errorCode", "error_code", "error", "code")


def generic_error_code(body: Any) -> str | None:
    """The error code in a decoded error body of a common shape: ``{"error": ...}``,
    ``{"code": ...}`` (string or number), ``{"errorCode": ...}`` or ``{"error_code": ...}``,
    a list of such objects, or such objects under ``"errors"``."""
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, dict):
        return None
    for key in _CODE_KEYS:
        value = body.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    errors = body.get("errors")
    return generic_error_code(errors) if isinstance(errors, list) else None


@dataclass(frozen=True)
class VendorErrors:
    """What a vendor's error answers look like, supplied by its connector.

    ``code_of`` finds the machine-readable code in a decoded error body; ``quota_codes`` are
    the codes that mean an allowance is spent for a long while (a daily API quota, say), so
    the request fails at once as :class:`~hub.errors.RateLimited` instead of being retried.
    """

    code_of: Callable[[Any], str | None] = generic_error_code
    quota_codes: frozenset[str] = field(default_factory=frozenset)
    detail_of: Callable[[Any], str | None] | None = None
    """What an error body says beyond its code (a message, a support reference), shown in
    the error redacted (emails, phones, credentials masked) and cut to 300 characters."""
    wait_of: Callable[[httpx.Response], float | None] | None = None
    """Seconds a retryable answer *without* ``Retry-After`` asks to wait, read from the
    vendor's own headers (a rate-limit reset), or None to back off as usual."""

    def retry_after(self, response: httpx.Response) -> float | None:
        """``Retry-After`` when present, else what ``wait_of`` reads from the vendor's headers."""
        found = parse_retry_after(response.headers.get("Retry-After"))
        if found is None and self.wait_of is not None:
            found = self.wait_of(response)
        return found

    def detail_text(self, response: httpx.Response) -> str | None:
        """What ``detail_of`` reads in a response's body, redacted and cut to
        :data:`DETAIL_LIMIT` characters; None when there is nothing to show."""
        if self.detail_of is None:
            return None
        try:
            found = self.detail_of(response.json())
        except ValueError:
            return None
        return redact(found)[:DETAIL_LIMIT] if found else None

    def code(self, body: Any) -> str | None:
        """The code ``code_of`` finds in ``body``, only if it looks like an identifier: free
        text may echo the values that were sent, personal data included."""
        found = self.code_of(body)
        if found is None:
            return None
        text = str(found)
        return text if _CODE_SHAPE.fullmatch(text) else None

    def response_code(self, response: httpx.Response) -> str | None:
        """:meth:`code` of a response's body; None when the body is not JSON."""
        try:
            return self.code(response.json())
        except ValueError:  # error pages and proxies often answer in plain text or HTML
            return None


GENERIC_ERRORS = VendorErrors()


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
