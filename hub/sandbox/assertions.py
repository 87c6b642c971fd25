"""JWT bearer assertions (RFC 7523) as a sandbox token endpoint checks them: RS256 only.

The signature is verified against the configured public key with ``cryptography``; then the
claims a vendor checks: ``iss`` (the client), ``aud`` (the token endpoint's audience),
``sub`` (the user the token acts for), ``exp`` (and ``nbf`` when present).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class AssertionRefused(ValueError):
    """The assertion is malformed, wrongly signed or its claims do not hold; the message says
    which check failed and never quotes the assertion."""


@dataclass(frozen=True)
class JwtTrust:
    """What a token endpoint trusts: whose key signs, for which audience and users."""

    public_key_pem: bytes
    issuer: str  # the expected ``iss``: the client id (a "consumer key" at some vendors)
    audiences: Collection[str]
    subjects: Collection[str] | None = None  # None: any user
    leeway_seconds: float = 0.0
    max_lifetime_seconds: float | None = None  # some vendors refuse an exp beyond 3 minutes

    @cached_property
    def public_key(self) -> rsa.RSAPublicKey:
        key = serialization.load_pem_public_key(self.public_key_pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("a JWT bearer trust needs an RSA public key (RS256)")
        return key


def verify_assertion(assertion: str, trust: JwtTrust, *, now: float) -> dict[str, Any]:
    """The claims of ``assertion`` once its signature and claims check out."""
    parts = assertion.strip().split(".")
    if len(parts) != 3:
        raise AssertionRefused("assertion is not a JWT (three dot-separated parts)")
    header = _json_part(parts[0], "header")
    claims = _json_part(parts[1], "payload")
    if header.get("alg") != "RS256":
        raise AssertionRefused("assertion must be signed with RS256")
    try:
        trust.public_key.verify(
            _b64(parts[2], "signature"),
            f"{parts[0]}.{parts[1]}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise AssertionRefused("assertion signature does not verify") from None
    _check_claims(claims, trust, now)
    return claims


def _check_claims(claims: dict[str, Any], trust: JwtTrust, now: float) -> None:
    if claims.get("iss") != trust.issuer:
        raise AssertionRefused("assertion iss is not the trusted client")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not set(audiences) & set(trust.audiences):
        raise AssertionRefused("assertion aud is not this token endpoint")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise AssertionRefused("assertion has no sub")
    if trust.subjects is not None and subject not in trust.subjects:
        raise AssertionRefused("assertion sub is not a user of this client")
    expiry = claims.get("exp")
    if not isinstance(expiry, int | float) or isinstance(expiry, bool):
        raise AssertionRefused("assertion has no numeric exp")
    if expiry <= now - trust.leeway_seconds:
        raise AssertionRefused("assertion has expired")
    if trust.max_lifetime_seconds is not None and expiry - now > trust.max_lifetime_seconds:
        raise AssertionRefused("assertion exp is too far in the future")
    not_before = claims.get("nbf")
    if isinstance(not_before, int | float) and not_before > now + trust.leeway_seconds:
        raise AssertionRefused("assertion is not valid yet (nbf)")


def _b64(part: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise AssertionRefused(f"assertion {what} is not base64url") from None


def _json_part(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64(part, what))
    except (ValueError, UnicodeDecodeError):
        raise AssertionRefused(f"assertion {what} is not JSON") from None
    if not isinstance(value, dict):
        raise AssertionRefused(f"assertion {what} is not a JSON object")
    return value
