"""What a token endpoint's refusal says, fit for an error message: the RFC 6749 section 5.2
``error`` code and its ``error_description`` (Genesys also sends it as ``description``), so
that a wrong secret and an unknown client read differently.

A vendor's description is free text and may echo what it was sent: the request's own
credentials are masked wherever they appear, and so is any run of characters shaped like a
token, before the project's usual redaction and length limit apply.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace
from typing import Any

from hub.http.vendor import VendorErrors
from hub.log import REDACTED

# A run of token characters (base64url, hex, JWT dots) long enough to be a credential and
# holding both a letter and a digit, so words, numbers and dates stay readable. The
# lookbehind starts a match only where a run starts: the lookaheads then scan one run once.
_TOKEN_SHAPED = re.compile(
    r"(?<![A-Za-z0-9._~+/=-])"
    r"(?=[A-Za-z0-9._~+/=-]*[0-9])(?=[A-Za-z0-9._~+/=-]*[A-Za-z])"
    r"[A-Za-z0-9._~+/=-]{24,}"
)
_DESCRIPTION_KEYS = ("error_description", "description")


def token_endpoint_errors(vendor: VendorErrors, sent: Collection[str]) -> VendorErrors:
    """``vendor``'s error reading for a token endpoint's answers to a request that carried
    the credentials ``sent``: RFC 6749's ``error`` and description first, the vendor's own
    reading when the body has neither, and none of ``sent`` in what is shown."""
    secrets = sorted({value for value in sent if value}, key=len, reverse=True)

    def code_of(body: Any) -> str | None:
        return _string_field(body, ("error",)) or vendor.code_of(body)

    def detail_of(body: Any) -> str | None:
        found = _string_field(body, _DESCRIPTION_KEYS)
        if found is None and vendor.detail_of is not None:
            found = vendor.detail_of(body)
        return None if found is None else mask_credentials(found, secrets)

    return replace(vendor, code_of=code_of, detail_of=detail_of)


def mask_credentials(text: str, secrets: Collection[str]) -> str:
    """``text`` with each of ``secrets`` (longest first) and every token-shaped run masked."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPED.sub(REDACTED, text)


def _string_field(body: Any, keys: tuple[str, ...]) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in keys:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
