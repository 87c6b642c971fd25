"""Zendesk authentication as the sandbox checks it: API token Basic auth and OAuth bearer.

https://developer.zendesk.com/api-reference/introduction/security-and-auth/ and
https://developer.zendesk.com/documentation/api-basics/authentication/refresh-token
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.sandbox.oauth import IssuedToken, TokenIssuer

BEARER_REFUSED = (
    "The access token provided is expired, revoked, malformed or invalid for other reasons."
)


def not_authenticated() -> Response:
    return JSONResponse(
        {"error": "Couldn't authenticate you"},
        status_code=401,
        headers={"WWW-Authenticate": 'Basic realm="Web Password"'},
    )


def invalid_token() -> Response:
    return JSONResponse(
        {"error": "invalid_token", "error_description": BEARER_REFUSED},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="Zendesk", error="invalid_token"'},
    )


def oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


class ZendeskAuth:
    """Accepts ``{email}/token:{api_token}`` Basic auth and live bearer tokens."""

    def __init__(
        self, *, email: str, api_token: str, client_id: str, client_secret: str, issuer: TokenIssuer
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.issuer = issuer

    def check(self, request: Request) -> Response | None:
        """None when the request is authenticated, else the 401 Zendesk would send."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return None if self.issuer.check(value.strip()) == "valid" else invalid_token()
        if scheme.lower() == "basic":
            user, password = _basic(value)
            if _same(user, f"{self.email}/token") and _same(password, self.api_token):
                return None
        return not_authenticated()

    async def token_endpoint(self, request: Request) -> Response:
        """``POST /oauth/tokens`` for the client_credentials and refresh_token grants."""
        form = await _form(request)
        client_id, client_secret = _basic(
            request.headers.get("authorization", "").partition(" ")[2]
        )
        client_id = form.get("client_id", client_id)
        client_secret = form.get("client_secret", client_secret)
        if not (_same(client_id, self.client_id) and _same(client_secret, self.client_secret)):
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            return _token_response(self.issuer.issue(form.get("scope", "read write")))
        if grant == "refresh_token":
            issued = self.issuer.refresh(form.get("refresh_token", ""))
            if issued is None:
                return oauth_error(
                    400,
                    "invalid_grant",
                    "The provided authorization grant is invalid, expired, revoked, "
                    "or was issued to another client.",
                )
            return _token_response(issued)
        return oauth_error(400, "unsupported_grant_type", "The grant type is not supported.")


def _token_response(token: IssuedToken) -> Response:
    return JSONResponse(
        {
            "access_token": token.access_token,
            "token_type": "bearer",
            "scope": token.scope,
            "expires_in": token.expires_in,
            "refresh_token": token.refresh_token,
            "refresh_token_expires_in": token.refresh_expires_in,
        },
        headers={"Cache-Control": "no-store"},
    )


async def _form(request: Request) -> dict[str, str]:
    raw = await request.body()
    if "json" in request.headers.get("content-type", ""):
        try:
            body: Any = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return dict(parse_qsl(raw.decode("utf-8", "replace")))


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
