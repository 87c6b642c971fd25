"""The generic OAuth token endpoint, over ASGITransport, as a vendor configures it."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.sandbox.assertions import JwtTrust
from hub.sandbox.oauth import (
    CLIENT_CREDENTIALS,
    JWT_BEARER,
    REFRESH_TOKEN,
    IssuedToken,
    OAuthError,
    TokenEndpoint,
    TokenIssuer,
)

NOW = 1_800_000_000.0
CLIENT, SECRET = "client-1", "s3cret"
AUDIENCE = "https://login.sandbox.example"


class _Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@cache
def _key(name: str = "trusted") -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(
    claims: Mapping[str, Any], *, key: rsa.RSAPrivateKey | None = None, alg: str = "RS256"
) -> str:
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(dict(claims)).encode())}"
    signature = (key or _key()).sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _claims(**changes: Any) -> dict[str, Any]:
    return {
        "iss": CLIENT,
        "sub": "ada@sandbox.example",
        "aud": AUDIENCE,
        "exp": NOW + 120,
        **changes,
    }


def _endpoint(clock: _Clock, **config: Any) -> tuple[httpx.AsyncClient, TokenIssuer]:
    issuer = TokenIssuer(access_ttl=600, refresh_ttl=3600, clock=clock)
    settings: dict[str, Any] = {
        "issuer": issuer,
        "clients": {CLIENT: SECRET},
        "grants": (CLIENT_CREDENTIALS, REFRESH_TOKEN, JWT_BEARER),
        "jwt": JwtTrust(_public_pem(_key()), issuer=CLIENT, audiences=[AUDIENCE],
                        subjects=["ada@sandbox.example"], max_lifetime_seconds=180),
        "clock": clock,
        **config,
    }  # fmt: skip
    endpoint = TokenEndpoint(**settings)
    app = Starlette(routes=[Route("/token", endpoint.handle, methods=["POST"])])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")
    return client, issuer


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


async def test_client_credentials_in_the_body_or_basic_auth_earn_a_standard_token(
    clock: _Clock,
) -> None:
    client, issuer = _endpoint(clock, default_scope="api")
    async with client:
        in_body = await client.post(
            "/token",
            data={"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET},
        )
        in_basic = await client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=(CLIENT, SECRET)
        )
    for response in (in_body, in_basic):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
        assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 600, "api")
        assert issuer.check(body["access_token"]) == "valid"
    assert in_body.json()["access_token"] != in_basic.json()["access_token"]


async def test_client_credentials_without_refresh_tokens_carry_vendor_fields(clock: _Clock) -> None:
    def vendor_fields(token: IssuedToken) -> dict[str, Any]:
        return {
            "instance_url": "https://acme.sandbox.example",
            "issued_at": str(int(token.issued_at * 1000)),
        }

    client, _ = _endpoint(clock, refresh_tokens=False, extra_fields=vendor_fields)
    async with client:
        grant = {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET}
        body = (await client.post("/token", json=grant)).json()
    assert "refresh_token" not in body
    assert body["instance_url"] == "https://acme.sandbox.example"
    assert body["issued_at"] == "1800000000000"


async def test_a_wrong_secret_is_invalid_client_in_rfc6749_shape(clock: _Clock) -> None:
    client, _ = _endpoint(clock)
    async with client:
        response = await client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=(CLIENT, "nope")
        )
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }


async def test_refresh_rotates_and_a_spent_refresh_token_is_refused(clock: _Clock) -> None:
    client, issuer = _endpoint(clock)
    async with client:
        first = (
            await client.post(
                "/token", data={"grant_type": "client_credentials"}, auth=(CLIENT, SECRET)
            )
        ).json()
        clock.now += 601
        assert issuer.check(first["access_token"]) == "expired"
        grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        renewed = await client.post("/token", data=grant, auth=(CLIENT, SECRET))
        reused = await client.post("/token", data=grant, auth=(CLIENT, SECRET))
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != first["refresh_token"]
    assert issuer.check(renewed.json()["access_token"]) == "valid"
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


async def test_without_rotation_the_refresh_token_stays_usable(clock: _Clock) -> None:
    issuer = TokenIssuer(access_ttl=60, refresh_ttl=3600, rotate_refresh_tokens=False, clock=clock)
    token = issuer.issue("api", client_id=CLIENT)
    assert token.refresh_token is not None
    again = issuer.refresh(token.refresh_token, client_id=CLIENT)
    once_more = issuer.refresh(token.refresh_token, client_id=CLIENT)
    assert again is not None and once_more is not None
    assert again.refresh_token is None  # no new refresh token is handed out
    assert issuer.refresh(token.refresh_token, client_id="another-client") is None


async def test_a_signed_jwt_assertion_earns_a_token_for_its_subject(clock: _Clock) -> None:
    client, _ = _endpoint(
        clock, extra_fields=lambda token: {"id": f"https://login/id/{token.subject}"}
    )
    async with client:
        response = await client.post(
            "/token", data={"grant_type": JWT_BEARER, "assertion": _jwt(_claims())}
        )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "https://login/id/ada@sandbox.example"
    assert "refresh_token" not in body


@pytest.mark.parametrize(
    ("assertion", "reason"),
    [
        (lambda: _jwt(_claims(), key=_key("stranger")), "signature does not verify"),
        (lambda: _jwt(_claims(iss="someone-else")), "iss"),
        (lambda: _jwt(_claims(aud="https://elsewhere")), "aud"),
        (lambda: _jwt(_claims(sub="mallory@sandbox.example")), "sub"),
        (lambda: _jwt(_claims(exp=NOW - 1)), "expired"),
        (lambda: _jwt(_claims(exp=NOW + 3600)), "too far"),
        (lambda: _jwt(_claims(), alg="HS256"), "RS256"),
        (lambda: "not-a-jwt", "three dot-separated parts"),
    ],
)
async def test_a_jwt_assertion_that_fails_a_check_is_invalid_grant_saying_which(
    clock: _Clock, assertion: Any, reason: str
) -> None:
    client, _ = _endpoint(clock)
    async with client:
        response = await client.post(
            "/token", data={"grant_type": JWT_BEARER, "assertion": assertion()}
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert reason in response.json()["error_description"]


async def test_an_unserved_grant_is_unsupported_and_the_vendor_may_reshape_errors(
    clock: _Clock,
) -> None:
    def vendor_error(error: OAuthError) -> Response:
        return JSONResponse([{"errorCode": error.error.upper(), "message": error.description}], 403)

    client, _ = _endpoint(clock, grants=(CLIENT_CREDENTIALS,), jwt=None, render_error=vendor_error)
    async with client:
        response = await client.post(
            "/token", data={"grant_type": "password"}, auth=(CLIENT, SECRET)
        )
    assert response.status_code == 403
    assert response.json() == [
        {"errorCode": "UNSUPPORTED_GRANT_TYPE", "message": "The grant type is not supported."}
    ]


def test_the_jwt_grant_without_a_trusted_key_is_a_configuration_error(clock: _Clock) -> None:
    with pytest.raises(ValueError, match="JwtTrust"):
        TokenEndpoint(
            issuer=TokenIssuer(access_ttl=1, refresh_ttl=1), clients={}, grants=(JWT_BEARER,)
        )
