"""What a connection asks a token endpoint for: the OAuth 2.0 grants :class:`~hub.http.OAuth2`
knows, the OAuth client that asks, and the RS256 assertion of the JWT bearer grant.

RFC 6749 (client credentials, refresh token), RFC 7523 (JWT bearer). Every credential is a
``SecretStr``, so a grant can be printed or logged without showing one.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar
from urllib.parse import quote_plus

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import SecretStr

from hub.errors import ConfigError

JWT_BEARER_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class ClientAuth(StrEnum):
    """Where the OAuth client's secret goes (RFC 6749 section 2.3.1)."""

    BODY = "client_secret_post"  # client_id and client_secret among the request's fields
    BASIC = "client_secret_basic"  # HTTP Basic with the form-encoded id and secret


@dataclass(frozen=True)
class OAuthClient:
    """The registered OAuth client a connection asks as."""

    client_id: str
    client_secret: SecretStr | None = None
    send_secret_as: ClientAuth = ClientAuth.BODY

    def fields(self) -> dict[str, str]:
        """The client's part of the token request's fields."""
        if self.send_secret_as is ClientAuth.BASIC:
            return {}
        sent = {"client_id": self.client_id}
        if self.client_secret is not None:
            sent["client_secret"] = self.client_secret.get_secret_value()
        return sent

    def headers(self) -> dict[str, str]:
        """The client's part of the token request's headers."""
        if self.send_secret_as is not ClientAuth.BASIC:
            return {}
        secret = "" if self.client_secret is None else self.client_secret.get_secret_value()
        pair = f"{quote_plus(self.client_id)}:{quote_plus(secret)}"
        return {"Authorization": f"Basic {base64.b64encode(pair.encode()).decode('ascii')}"}


@dataclass(frozen=True)
class ClientCredentialsGrant:
    """A token for the client itself; asked again whenever it expires."""

    grant_type: ClassVar[str] = "client_credentials"
    client: OAuthClient
    scope: str | None = None


@dataclass(frozen=True)
class RefreshTokenGrant:
    """A token renewed with a refresh token, optionally starting from a ready access token.

    Vendors that rotate refresh tokens spend the old one on use, so a new one is handed to the
    connection's credential saver as ``refresh_token_field`` (and the access token that came
    with it as ``access_token_field``, when the connection was configured with one).
    """

    grant_type: ClassVar[str] = "refresh_token"
    refresh_token: SecretStr
    client: OAuthClient | None = None
    access_token: SecretStr | None = None
    scope: str | None = None
    # Names of the config fields the saver writes (field names, not credentials).
    refresh_token_field: str = "refresh_token"  # noqa: S105
    access_token_field: str = "access_token"  # noqa: S105


@dataclass(frozen=True)
class JwtBearerGrant:
    """A token for ``subject`` obtained with an assertion signed by the client's RSA key
    (RFC 7523); a fresh, short-lived assertion is signed for every token request."""

    grant_type: ClassVar[str] = JWT_BEARER_GRANT_TYPE
    issuer: str
    subject: str
    audience: str
    private_key: SecretStr  # PEM, unencrypted
    lifetime_seconds: int = 180
    key_id: str | None = None
    scope: str | None = None
    client: OAuthClient | None = None
    _key: rsa.RSAPrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.lifetime_seconds <= 0:
            raise ConfigError("the JWT bearer grant's lifetime_seconds must be positive")
        object.__setattr__(self, "_key", _load_rsa_key(self.private_key))

    def assertion(self, now: float) -> str:
        """A signed JWT with iss, sub, aud, iat, exp and a unique jti, valid from ``now``."""
        header = {"alg": "RS256", "typ": "JWT"}
        if self.key_id is not None:
            header["kid"] = self.key_id
        issued = int(now)
        claims = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + self.lifetime_seconds,
            "jti": secrets.token_urlsafe(16),
        }
        signing_input = f"{_b64url_json(header)}.{_b64url_json(claims)}"
        signed = signing_input.encode("ascii")
        signature = self._key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


@dataclass(frozen=True)
class AccessTokenOnly:
    """A ready access token with no way to renew it: when refused, the connection needs new
    credentials."""

    grant_type: ClassVar[str] = "access_token"
    access_token: SecretStr


Grant = ClientCredentialsGrant | RefreshTokenGrant | JwtBearerGrant | AccessTokenOnly


def _load_rsa_key(pem: SecretStr) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.get_secret_value().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(
            "the JWT bearer grant's private_key is not an unencrypted PEM RSA private key"
        )
    return key


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_json(value: Mapping[str, object]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())
