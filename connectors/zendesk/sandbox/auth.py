"""Zendesk authentication as the sandbox checks it: API token Basic auth and OAuth bearer.

https://developer.zendesk.com/api-reference/introduction/security-and-auth/ and
https://developer.zendesk.com/documentation/api-basics/authentication/refresh-token
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.sandbox.oauth import (
    CLIENT_CREDENTIALS,
    REFRESH_TOKEN,
    IssuedToken,
    OAuthError,
    TokenEndpoint,
    TokenIssuer,
    basic_credentials,
    rfc6749_error,
    same_secret,
)

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
    return rfc6749_error(OAuthError(status, error, description))


def zendesk_token_body(token: IssuedToken) -> dict[str, Any]:
    """Zendesk's token response: lower-case ``bearer`` and the refresh token's lifetime."""
    return {
        "access_token": token.access_token,
        "token_type": "bearer",
        "scope": token.scope,
        "expires_in": token.expires_in,
        "refresh_token": token.refresh_token,
        "refresh_token_expires_in": token.refresh_expires_in,
    }


class ZendeskAuth:
    """Accepts ``{email}/token:{api_token}`` Basic auth and live bearer tokens."""

    def __init__(
        self, *, email: str, api_token: str, client_id: str, client_secret: str, issuer: TokenIssuer
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.issuer = issuer
        # POST /oauth/tokens: client_credentials (with a refresh token) and refresh_token,
        # a refresh spending the refresh token it used.
        self.tokens = TokenEndpoint(
            issuer=issuer,
            clients={client_id: client_secret},
            grants=(CLIENT_CREDENTIALS, REFRESH_TOKEN),
            default_scope="read write",
            token_body=zendesk_token_body,
        )
        self.token_endpoint = self.tokens.handle

    def check(self, request: Request) -> Response | None:
        """None when the request is authenticated, else the 401 Zendesk would send."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return None if self.issuer.check(value.strip()) == "valid" else invalid_token()
        if scheme.lower() == "basic":
            user, password = basic_credentials(value)
            if same_secret(user, f"{self.email}/token") and same_secret(password, self.api_token):
                return None
        return not_authenticated()
