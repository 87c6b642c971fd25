"""The sandbox org's OAuth: ``POST /services/oauth2/token`` with the client credentials and
JWT bearer flows, answering as Salesforce does (``instance_url``, ``id``, ``issued_at``,
``signature``, no ``expires_in``: a session lasts until it times out, and the first sign is a
401 ``INVALID_SESSION_ID``).
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.sandbox.assertions import JwtTrust
from hub.sandbox.oauth import (
    CLIENT_CREDENTIALS,
    JWT_BEARER,
    OAuthError,
    TokenEndpoint,
    TokenIssuer,
    request_params,
)

LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
ORG_ID = "00D000000000001AAA"


def session_expired() -> Response:
    """Salesforce's answer to an expired or unknown session."""
    return JSONResponse(
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
    )


def _token_error(error: OAuthError) -> Response:
    # Salesforce's token endpoint answers RFC 6749 shaped errors, always 400.
    return JSONResponse({"error": error.error, "error_description": error.description}, 400)


@functools.cache
def key_pair() -> tuple[str, bytes]:
    """A private key PEM for the integration and its public key PEM for the org: made once a
    process (an RSA key takes a while to make, and sandbox credentials guard nothing real)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


class SalesforceAuth:
    """Issues sessions and checks them on every API request."""

    def __init__(
        self,
        *,
        issuer: TokenIssuer,
        client_id: str,
        client_secret: str,
        username: str,
        public_key_pem: bytes,
    ) -> None:
        self.issuer = issuer
        self.client_secret = client_secret
        self.tokens = TokenEndpoint(
            issuer=issuer,
            clients={client_id: client_secret},
            grants=(CLIENT_CREDENTIALS, JWT_BEARER),
            refresh_tokens=False,
            jwt=JwtTrust(
                public_key_pem,
                client_id,
                LOGIN_AUDIENCES,
                subjects=(username,),
                max_lifetime_seconds=300,
            ),
        )

    async def token(self, request: Request) -> Response:
        """The token endpoint: the session, and the instance to call with it."""
        try:
            params = await request_params(request)
            issued = self.tokens.grant(params, request.headers.get("authorization"))
        except OAuthError as error:
            return _token_error(error)
        instance = str(request.base_url).rstrip("/")
        identity = f"{instance}/id/{ORG_ID}/005000000000001AAA"
        issued_at = str(int(issued.issued_at * 1000))
        signed = hmac.new(self.client_secret.encode(), (identity + issued_at).encode(),
                          hashlib.sha256).digest()  # fmt: skip
        body: dict[str, Any] = {
            "access_token": issued.access_token,
            "signature": base64.b64encode(signed).decode(),
            "scope": "api",
            "instance_url": instance,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    def check(self, request: Request) -> Response | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.issuer.check(value.strip()) == "valid":
            return None
        return session_expired()
