"""OAuth 2.0 for sandboxes: a token issuer and a configurable token endpoint.

The endpoint serves the client credentials grant (with or without a refresh token), the
refresh token grant with rotation (a spent refresh token is refused) and the JWT bearer grant
(RFC 7523, see :mod:`hub.sandbox.assertions`). Clients authenticate in the body or with HTTP
Basic; bodies may be forms or JSON. Errors follow RFC 6749 section 5.2 unless the vendor
renders its own, and token responses may carry vendor fields (an ``instance_url``, say).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.sandbox.assertions import AssertionRefused, JwtTrust, verify_assertion

TokenState = Literal["valid", "expired", "unknown"]
CLIENT_CREDENTIALS = "client_credentials"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a grant type, not a secret
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INVALID_CLIENT = "Client authentication failed."
UNKNOWN_CLIENT = "Client authentication failed: no such client."
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, or was issued to another "
    "client."
)
UNSUPPORTED_GRANT = "The grant type is not supported."


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    refresh_token: str | None
    expires_in: int
    refresh_expires_in: int | None
    scope: str
    client_id: str = ""
    subject: str | None = None  # the user a JWT bearer token acts for
    issued_at: float = 0.0


class TokenIssuer:
    """Issues, checks and refreshes tokens. With ``rotate_refresh_tokens`` a refresh spends the
    refresh token it used and hands out a new one; without, the old one stays valid."""

    def __init__(
        self,
        *,
        access_ttl: int,
        refresh_ttl: int,
        rotate_refresh_tokens: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self._clock = clock
        self.issued = 0  # access tokens handed out so far, refreshes included
        self._access: dict[str, float] = {}  # token -> expiry
        self._refresh: dict[str, tuple[float, IssuedToken]] = {}  # token -> (expiry, issued)

    def issue(
        self,
        scope: str,
        *,
        refresh: bool = True,
        client_id: str = "",
        subject: str | None = None,
    ) -> IssuedToken:
        """A new access token, and a refresh token unless ``refresh`` is False."""
        now = self._clock()
        token = IssuedToken(
            access_token=secrets.token_urlsafe(32),
            refresh_token=secrets.token_urlsafe(32) if refresh else None,
            expires_in=self.access_ttl,
            refresh_expires_in=self.refresh_ttl if refresh else None,
            scope=scope,
            client_id=client_id,
            subject=subject,
            issued_at=now,
        )
        self._access[token.access_token] = now + self.access_ttl
        self.issued += 1
        if token.refresh_token is not None:
            self._refresh[token.refresh_token] = (now + self.refresh_ttl, token)
        return token

    def refresh(self, refresh_token: str, *, client_id: str | None = None) -> IssuedToken | None:
        """New tokens for a live refresh token issued to ``client_id`` (any client when None),
        else None."""
        found = self._refresh.get(refresh_token)
        if found is None or found[0] <= self._clock():
            return None
        original = found[1]
        if client_id is not None and original.client_id != client_id:
            return None
        if not self.rotate_refresh_tokens:
            now = self._clock()
            access = secrets.token_urlsafe(32)
            self._access[access] = now + self.access_ttl
            self.issued += 1
            return IssuedToken(
                access, None, self.access_ttl, None, original.scope,
                original.client_id, original.subject, now,
            )  # fmt: skip
        del self._refresh[refresh_token]
        return self.issue(original.scope, client_id=original.client_id, subject=original.subject)

    def check(self, access_token: str) -> TokenState:
        expiry = self._access.get(access_token)
        if expiry is None:
            return "unknown"
        return "valid" if expiry > self._clock() else "expired"


class OAuthError(Exception):
    """A refused token request: RFC 6749 ``error`` code, description and HTTP status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


def rfc6749_error(error: OAuthError) -> Response:
    """``{"error", "error_description"}`` (RFC 6749 section 5.2)."""
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status,
    )


def standard_token_body(token: IssuedToken) -> dict[str, Any]:
    """The RFC 6749 section 5.1 token response."""
    body: dict[str, Any] = {
        "access_token": token.access_token,
        "token_type": "Bearer",
        "expires_in": token.expires_in,
        "scope": token.scope,
    }
    if token.refresh_token is not None:
        body["refresh_token"] = token.refresh_token
    return body


def no_extra_fields(token: IssuedToken) -> Mapping[str, Any]:
    return {}


class TokenEndpoint:
    """A vendor's token URL, configured per vendor; :meth:`handle` serves ``POST``.

    ``clients`` maps client ids to secrets. ``grants`` are the grant types served;
    ``refresh_tokens`` says whether client credentials come with a refresh token. The JWT
    bearer grant needs ``jwt``; it authenticates by the assertion, so a client secret is only
    checked when one is sent. ``token_body`` shapes the success body, ``extra_fields`` adds
    vendor fields to it, and ``render_error`` shapes refusals.
    """

    def __init__(
        self,
        *,
        issuer: TokenIssuer,
        clients: Mapping[str, str],
        grants: Collection[str] = (CLIENT_CREDENTIALS, REFRESH_TOKEN),
        refresh_tokens: bool = True,
        jwt: JwtTrust | None = None,
        default_scope: str = "",
        token_body: Callable[[IssuedToken], dict[str, Any]] = standard_token_body,
        extra_fields: Callable[[IssuedToken], Mapping[str, Any]] = no_extra_fields,
        render_error: Callable[[OAuthError], Response] = rfc6749_error,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if JWT_BEARER in grants and jwt is None:
            raise ValueError("the JWT bearer grant needs a JwtTrust (the public key to check)")
        self.issuer = issuer
        self.clients = dict(clients)
        self.grants = frozenset(grants)
        self.refresh_tokens = refresh_tokens
        self.jwt = jwt
        self.default_scope = default_scope
        self.token_body = token_body
        self.extra_fields = extra_fields
        self.render_error = render_error
        self._clock = clock

    async def handle(self, request: Request) -> Response:
        """The Starlette endpoint: ``Route(token_path, endpoint.handle, methods=["POST"])``."""
        try:
            token = self.grant(await request_params(request), request.headers.get("authorization"))
        except OAuthError as error:
            return self.render_error(error)
        body = {**self.token_body(token), **self.extra_fields(token)}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    def grant(self, params: Mapping[str, str], authorization: str | None) -> IssuedToken:
        """The token ``params`` earn, or an :class:`OAuthError` saying why not."""
        grant_type = params.get("grant_type", "")
        client_id, client_secret = client_credentials(params, authorization)
        assertion_only = grant_type == JWT_BEARER and not client_secret
        if not assertion_only and not self._client_ok(client_id, client_secret):
            # Vendors word a wrong secret and an unknown client differently (Genesys does).
            known = client_id in self.clients
            raise OAuthError(401, "invalid_client", INVALID_CLIENT if known else UNKNOWN_CLIENT)
        if grant_type not in self.grants:
            raise OAuthError(400, "unsupported_grant_type", UNSUPPORTED_GRANT)
        scope = params.get("scope", self.default_scope)
        if grant_type == CLIENT_CREDENTIALS:
            return self.issuer.issue(scope, refresh=self.refresh_tokens, client_id=client_id)
        if grant_type == REFRESH_TOKEN:
            issued = self.issuer.refresh(params.get("refresh_token", ""), client_id=client_id)
            if issued is None:
                raise OAuthError(400, "invalid_grant", INVALID_GRANT)
            return issued
        return self._jwt_grant(params, scope)

    def _jwt_grant(self, params: Mapping[str, str], scope: str) -> IssuedToken:
        assert self.jwt is not None  # checked in __init__
        assertion = params.get("assertion")
        if not assertion:
            raise OAuthError(400, "invalid_request", "assertion is required")
        try:
            claims = verify_assertion(assertion, self.jwt, now=self._clock())
        except AssertionRefused as refused:
            raise OAuthError(400, "invalid_grant", str(refused)) from None
        return self.issuer.issue(
            scope, refresh=False, client_id=self.jwt.issuer, subject=str(claims["sub"])
        )

    def _client_ok(self, client_id: str, client_secret: str) -> bool:
        expected = self.clients.get(client_id)
        return expected is not None and same_secret(client_secret, expected)


async def request_params(request: Request) -> dict[str, str]:
    """A token request's parameters from a form or a JSON body (an unreadable body is empty)."""
    raw = await request.body()
    if "json" in request.headers.get("content-type", ""):
        try:
            body: Any = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return dict(parse_qsl(raw.decode("utf-8", "replace")))


def client_credentials(params: Mapping[str, str], authorization: str | None) -> tuple[str, str]:
    """Client id and secret from HTTP Basic, overridden by ``client_id``/``client_secret``."""
    scheme, _, value = (authorization or "").partition(" ")
    user, password = basic_credentials(value) if scheme.lower() == "basic" else ("", "")
    return params.get("client_id", user), params.get("client_secret", password)


def basic_credentials(value: str) -> tuple[str, str]:
    """User and password of an HTTP Basic credential (empty strings when malformed)."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty expected secret never matches."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
