"""Behaviour of hub.http's OAuth 2.0 auth: the grants, renewal before expiry and on 401,
rotation, the JWT bearer assertion, the token-response hook and safe errors (respx)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import SecretStr

import hub.http.request
from hub.errors import AuthError, ConfigError, VendorError
from hub.http import (
    JWT_BEARER_GRANT_TYPE,
    AccessTokenOnly,
    ClientAuth,
    ClientCredentialsGrant,
    Grant,
    HttpSettings,
    JwtBearerGrant,
    OAuth2,
    OAuthClient,
    RefreshTokenGrant,
    TokenEncoding,
    TokenHook,
    create_client,
    request_json,
    requests_sent,
)
from hub.log import configure_logging

API = "https://api.vendor.test/v1/"
TOKEN_URL = "https://login.vendor.test/oauth/token"
FAST = HttpSettings(max_attempts=3, backoff_base_seconds=0.01, backoff_max_seconds=0.02)
# Placeholder credentials, made up for the tests.
CLIENT = OAuthClient("hub-client", SecretStr("client-secret-value"))
CLIENT_CREDENTIALS = ClientCredentialsGrant(CLIENT, scope="read")


class FakeClock:
    """Wall-clock seconds that move only when a test moves them."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    async def skip(seconds: float) -> None:
        return None

    monkeypatch.setattr(hub.http.request, "_pause", skip)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vendor() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_of(key: rsa.RSAPrivateKey) -> SecretStr:
    raw = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SecretStr(raw.decode())


def issued(n: int, **extra: Any) -> dict[str, Any]:
    return {"access_token": f"access-{n}", "token_type": "bearer", **extra}


def token_endpoint(vendor: respx.MockRouter, *answers: dict[str, Any]) -> respx.Route:
    """A token endpoint that hands out ``answers`` in turn."""
    return vendor.post(TOKEN_URL).mock(side_effect=[httpx.Response(200, json=a) for a in answers])


def accepting_api(vendor: respx.MockRouter, *tokens: str, path: str = "me") -> respx.Route:
    """An API endpoint that accepts only ``tokens`` (as bearer) and 401s anything else."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") in {f"Bearer {t}" for t in tokens}:
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(401, json={"error": "invalid_token"})

    return vendor.get(f"{API}{path}").mock(side_effect=answer)


def form(route: respx.Route, call: int = -1) -> dict[str, str]:
    content = route.calls[call].request.content.decode()
    return {key: values[0] for key, values in parse_qs(content).items()}


@pytest.fixture
async def connect() -> AsyncIterator[Any]:
    """Builds clients like a connector does, closing them at the end."""
    opened: list[httpx.AsyncClient] = []

    def build(auth: OAuth2, base_url: str = API) -> httpx.AsyncClient:
        client = create_client(base_url, auth=auth, settings=FAST, connection="crm")
        opened.append(client)
        return client

    yield build
    for client in opened:
        await client.aclose()


def oauth(grant: Grant, clock: FakeClock | None = None, **options: Any) -> OAuth2:
    return OAuth2(grant, token_url=TOKEN_URL, clock=clock or FakeClock(), **options)


async def get(client: httpx.AsyncClient, path: str = "me") -> Any:
    _, body = await request_json(client, "GET", path, settings=FAST, connection="crm")
    return body


# -- grants ----------------------------------------------------------------------------------


async def test_client_credentials_token_is_fetched_once_on_first_use(
    vendor: respx.MockRouter, connect: Any
) -> None:
    tokens = token_endpoint(vendor, issued(1, expires_in=3600))
    api = accepting_api(vendor, "access-1")
    http = connect(oauth(CLIENT_CREDENTIALS))

    await asyncio.gather(*(get(http) for _ in range(5)))

    assert tokens.call_count == 1
    assert api.call_count == 5  # no request was spent on a certain 401
    sent = tokens.calls.last.request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(tokens) == {
        "grant_type": "client_credentials",
        "scope": "read",
        "client_id": "hub-client",
        "client_secret": "client-secret-value",
    }


async def test_client_secret_can_go_as_http_basic_instead_of_in_the_body(
    vendor: respx.MockRouter, connect: Any
) -> None:
    tokens = token_endpoint(vendor, issued(1))
    accepting_api(vendor, "access-1")
    client = OAuthClient("hub client", SecretStr("s3cr:t"), send_secret_as=ClientAuth.BASIC)
    await get(connect(oauth(ClientCredentialsGrant(client))))

    sent = tokens.calls.last.request
    scheme, _, value = sent.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == "hub+client:s3cr%3At"  # RFC 6749 2.3.1
    assert form(tokens) == {"grant_type": "client_credentials"}


async def test_token_request_can_be_sent_as_json(vendor: respx.MockRouter, connect: Any) -> None:
    tokens = token_endpoint(vendor, issued(1))
    accepting_api(vendor, "access-1")
    await get(connect(oauth(CLIENT_CREDENTIALS, encoding=TokenEncoding.JSON)))

    assert json.loads(tokens.calls.last.request.content)["grant_type"] == "client_credentials"


async def test_token_url_relative_to_the_base_url_of_the_client(
    vendor: respx.MockRouter, connect: Any
) -> None:
    tokens = vendor.post(f"{API}oauth/token").respond(json=issued(1))
    accepting_api(vendor, "access-1")
    auth = OAuth2(CLIENT_CREDENTIALS, token_url="oauth/token", clock=FakeClock())
    await get(connect(auth))

    assert tokens.call_count == 1


async def test_a_ready_access_token_is_used_and_its_401_is_an_auth_error(
    vendor: respx.MockRouter, connect: Any
) -> None:
    tokens = token_endpoint(vendor)
    api = accepting_api(vendor, "ready-value")
    http = connect(oauth(AccessTokenOnly(SecretStr("ready-value"))))
    assert await get(http) == {"ok": True}

    api.side_effect = None
    api.return_value = httpx.Response(401, json={"error": "invalid_token"})
    with pytest.raises(AuthError, match="no refresh token") as caught:
        await get(http)

    assert tokens.call_count == 0
    assert "ready-value" not in str(caught.value)


# -- renewal ---------------------------------------------------------------------------------


async def test_token_is_renewed_shortly_before_it_expires(
    vendor: respx.MockRouter, connect: Any, clock: FakeClock
) -> None:
    tokens = token_endpoint(vendor, issued(1, expires_in=3600), issued(2, expires_in=3600))
    api = accepting_api(vendor, "access-1", "access-2")
    http = connect(oauth(CLIENT_CREDENTIALS, clock, expiry_skew_seconds=60))

    await get(http)
    clock.now += 3600 - 61
    await get(http)
    assert tokens.call_count == 1
    clock.now += 2  # inside the last minute
    await get(http)

    assert tokens.call_count == 2
    assert api.calls.last.request.headers["Authorization"] == "Bearer access-2"
    assert all(call.response.status_code == 200 for call in api.calls)


async def test_a_short_lived_token_is_renewed_at_half_its_life_not_before_every_request(
    vendor: respx.MockRouter, connect: Any, clock: FakeClock
) -> None:
    tokens = token_endpoint(vendor, issued(1, expires_in=40), issued(2, expires_in=40))
    accepting_api(vendor, "access-1", "access-2")
    http = connect(oauth(CLIENT_CREDENTIALS, clock, expiry_skew_seconds=60))

    await get(http)
    clock.now += 19
    await get(http)
    assert tokens.call_count == 1
    clock.now += 1
    await get(http)
    assert tokens.call_count == 2


async def test_many_requests_meeting_a_401_share_one_refresh(
    vendor: respx.MockRouter, connect: Any
) -> None:
    tokens = token_endpoint(vendor, issued(2, refresh_token="refresh-2"))
    refused: list[str] = []
    all_refused = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer access-2":
            return httpx.Response(200, json={"ok": True})
        refused.append(request.headers["Authorization"])
        if len(refused) == 10:
            all_refused.set()
        await all_refused.wait()  # every request meets the expired token before any refresh
        return httpx.Response(401, json={"error": "invalid_token"})

    vendor.get(f"{API}me").mock(side_effect=answer)
    grant = RefreshTokenGrant(
        SecretStr("refresh-1"), client=CLIENT, access_token=SecretStr("access-1")
    )
    http = connect(oauth(grant))

    results = await asyncio.gather(*(get(http) for _ in range(10)))

    assert results == [{"ok": True}] * 10
    assert refused == ["Bearer access-1"] * 10
    assert tokens.call_count == 1
    assert form(tokens)["grant_type"] == "refresh_token"
    assert form(tokens)["refresh_token"] == "refresh-1"


async def test_a_rotated_refresh_token_is_saved_once_and_used_next(
    vendor: respx.MockRouter, connect: Any
) -> None:
    saved: list[tuple[str, str]] = []

    async def save(field: str, value: str) -> None:
        saved.append((field, value))

    tokens = token_endpoint(
        vendor, issued(2, refresh_token="refresh-2"), issued(3, refresh_token="refresh-3")
    )
    api = accepting_api(vendor, "access-2")
    grant = RefreshTokenGrant(
        SecretStr("refresh-1"),
        client=CLIENT,
        access_token=SecretStr("access-1"),
        refresh_token_field="crm_refresh",
        access_token_field="crm_access",
    )
    http = connect(oauth(grant, save_credential=save))
    await asyncio.gather(*(get(http) for _ in range(5)))

    assert saved == [("crm_refresh", "refresh-2"), ("crm_access", "access-2")]
    api.side_effect = None
    api.return_value = httpx.Response(401)
    with pytest.raises(AuthError):
        await get(http)  # refreshes again, with the rotated token
    assert form(tokens, 1)["refresh_token"] == "refresh-2"
    assert saved[-2:] == [("crm_refresh", "refresh-3"), ("crm_access", "access-3")]


async def test_a_refresh_without_a_new_refresh_token_saves_nothing(
    vendor: respx.MockRouter, connect: Any
) -> None:
    saved: list[tuple[str, str]] = []

    async def save(field: str, value: str) -> None:
        saved.append((field, value))

    token_endpoint(vendor, issued(2))
    accepting_api(vendor, "access-2")
    grant = RefreshTokenGrant(SecretStr("refresh-1"), client=CLIENT)
    await get(connect(oauth(grant, save_credential=save)))

    assert saved == []


# -- the JWT bearer grant --------------------------------------------------------------------


def decoded(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def test_jwt_bearer_assertion_verifies_with_the_public_key_and_carries_the_claims(
    vendor: respx.MockRouter, connect: Any, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    tokens = token_endpoint(vendor, issued(1, expires_in=600), issued(2, expires_in=600))
    accepting_api(vendor, "access-1", "access-2")
    grant = JwtBearerGrant(
        issuer="consumer-key",
        subject="integration@example.test",
        audience="https://login.vendor.test",
        private_key=pem_of(rsa_key),
        key_id="key-7",
    )
    http = connect(oauth(grant, clock))
    await get(http)
    clock.now += 600
    await get(http)

    sent = [form(tokens, n) for n in (0, 1)]
    assert {f["grant_type"] for f in sent} == {JWT_BEARER_GRANT_TYPE}
    header, claims, signature = sent[0]["assertion"].split(".")
    rsa_key.public_key().verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        f"{header}.{claims}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert decoded(header) == {"alg": "RS256", "typ": "JWT", "kid": "key-7"}
    first = decoded(claims)
    assert (first["iss"], first["sub"], first["aud"]) == (
        "consumer-key",
        "integration@example.test",
        "https://login.vendor.test",
    )
    assert first["iat"] == int(clock.now - 600)
    assert 0 < first["exp"] - first["iat"] <= 300  # short-lived
    second = decoded(sent[1]["assertion"].split(".")[1])
    assert second["jti"] != first["jti"]
    assert second["exp"] > first["exp"]


def test_a_jwt_grant_with_a_key_that_is_not_an_rsa_pem_fails_without_showing_it() -> None:
    with pytest.raises(ConfigError, match="PEM RSA private key") as caught:
        JwtBearerGrant("iss", "sub", "aud", SecretStr("-----BEGIN garbage-value-----"))
    assert "garbage-value" not in str(caught.value)


# -- what a token response carries -----------------------------------------------------------


async def test_token_response_hook_moves_the_client_to_the_instance_it_names(
    vendor: respx.MockRouter, connect: Any
) -> None:
    token_endpoint(vendor, issued(1, instance_url="https://eu7.vendor.test"))
    instance = vendor.get("https://eu7.vendor.test/services/data/me").respond(json={"ok": 1})
    seen: list[Any] = []

    def follow_instance(answer: Any) -> str | None:
        seen.append(sorted(answer))
        return f"{answer['instance_url']}/services/data/"

    hook: TokenHook = follow_instance
    http = connect(oauth(CLIENT_CREDENTIALS, on_token=hook), base_url="https://unknown.invalid/")

    await get(http)  # built against the placeholder, sent to the instance
    await get(http)

    assert instance.call_count == 2
    assert instance.calls[0].request.headers["Host"] == "eu7.vendor.test"
    assert str(http.base_url) == "https://eu7.vendor.test/services/data/"
    assert seen == [["access_token", "instance_url", "token_type"]]


async def test_a_hook_naming_a_relative_base_url_is_an_auth_error(
    vendor: respx.MockRouter, connect: Any
) -> None:
    token_endpoint(vendor, issued(1))
    with pytest.raises(AuthError, match="not an absolute"):
        await get(connect(oauth(CLIENT_CREDENTIALS, on_token=lambda answer: "/elsewhere")))


# -- the token endpoint failing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"), [(400, "invalid_grant"), (401, "invalid_client"), (403, "denied")]
)
async def test_a_refusal_from_the_token_endpoint_names_the_grant_and_the_vendors_reason(
    vendor: respx.MockRouter, connect: Any, status: int, error: str
) -> None:
    # The vendor echoes what it was sent: the credentials are masked wherever they appear.
    said = "refresh-1 was revoked (client hub-client, secret client-secret-value)"
    vendor.post(TOKEN_URL).respond(status, json={"error": error, "error_description": said})
    api = accepting_api(vendor)
    grant = RefreshTokenGrant(
        SecretStr("refresh-1"), client=CLIENT, access_token=SecretStr("access-1")
    )
    with pytest.raises(AuthError) as caught:
        await get(connect(oauth(grant)))

    message = str(caught.value)
    assert "refused the refresh_token grant" in message
    reason = "[REDACTED] was revoked (client hub-client, secret [REDACTED])"
    assert f"({status} {error}: {reason})" in message
    assert (caught.value.status, caught.value.vendor_code) == (status, error)
    assert caught.value.vendor_detail == reason
    for value in ("refresh-1", "access-1", "client-secret-value"):
        assert value not in message
    assert api.call_count == 1


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        # Genesys sends the description under both names; some hosts only as "description".
        ({"error": "invalid_client", "description": "client not found"},
         "(400 invalid_client: client not found)"),
        ({"error": "invalid_client"}, "(400 invalid_client)"),
        ({"message": "no"}, "(400)"),
    ],
)  # fmt: skip
async def test_a_refusal_shows_the_description_whichever_key_carries_it_or_the_code_alone(
    vendor: respx.MockRouter, connect: Any, body: dict[str, str], shown: str
) -> None:
    vendor.post(TOKEN_URL).respond(400, json=body)
    with pytest.raises(AuthError) as caught:
        await get(connect(oauth(CLIENT_CREDENTIALS)))
    assert str(caught.value).endswith(f"refused the client_credentials grant {shown}")


async def test_a_refusals_description_is_bounded_and_shows_no_token_shaped_value(
    vendor: respx.MockRouter, connect: Any
) -> None:
    stale = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"
    said = f"token {stale} expired at 2026-12-02T10:00:00Z, ask again. " + "x" * 2000
    vendor.post(TOKEN_URL).respond(400, json={"error": "invalid_grant", "error_description": said})
    with pytest.raises(AuthError) as caught:
        await get(connect(oauth(CLIENT_CREDENTIALS)))

    detail = caught.value.vendor_detail
    assert detail is not None and len(detail) == 300
    assert detail.startswith("token [REDACTED] expired at 2026-12-02T10:00:00Z, ask again. x")
    assert stale not in str(caught.value)


async def test_token_endpoint_server_errors_are_retried_then_succeed(
    vendor: respx.MockRouter, connect: Any
) -> None:
    tokens = vendor.post(TOKEN_URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=issued(1))]
    )
    accepting_api(vendor, "access-1")
    assert await get(connect(oauth(CLIENT_CREDENTIALS))) == {"ok": True}
    assert tokens.call_count == 2


async def test_token_endpoint_server_errors_that_persist_propagate_as_vendor_errors(
    vendor: respx.MockRouter, connect: Any
) -> None:
    tokens = vendor.post(TOKEN_URL).respond(502)
    with pytest.raises(VendorError) as caught:
        await get(connect(oauth(CLIENT_CREDENTIALS)))
    assert type(caught.value) is VendorError
    assert caught.value.status == 502
    assert tokens.call_count == FAST.max_attempts


async def test_a_token_response_without_an_access_token_is_an_auth_error(
    vendor: respx.MockRouter, connect: Any
) -> None:
    vendor.post(TOKEN_URL).respond(json={"token_type": "bearer", "expires_in": "soon"})
    with pytest.raises(AuthError, match="no usable access_token, expires_in"):
        await get(connect(oauth(CLIENT_CREDENTIALS)))


# -- counting and logging --------------------------------------------------------------------


async def test_token_calls_count_among_the_connections_requests(
    vendor: respx.MockRouter, connect: Any
) -> None:
    token_endpoint(vendor, issued(2))
    accepting_api(vendor, "access-2")
    grant = RefreshTokenGrant(SecretStr("refresh-1"), client=CLIENT, access_token=SecretStr("x"))
    http = connect(oauth(grant))
    await get(http)

    assert requests_sent(http) == 3  # the refused request, the token call, the resend


@pytest.mark.usefixtures("restore_root_logging")
async def test_debug_logs_of_grants_and_renewals_show_no_credential(
    vendor: respx.MockRouter,
    connect: Any,
    clock: FakeClock,
    rsa_key: rsa.RSAPrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    output = io.StringIO()
    configure_logging(logging.DEBUG, stream=output)
    token_endpoint(
        vendor,
        issued(1, expires_in=600, refresh_token="refresh-2"),
        issued(2, expires_in=600),
    )
    accepting_api(vendor, "access-1", "access-2")
    refreshing = RefreshTokenGrant(
        SecretStr("refresh-1"), client=CLIENT, access_token=SecretStr("access-0")
    )
    await get(connect(oauth(refreshing, clock)))
    jwt = JwtBearerGrant("iss", "sub", "aud", pem_of(rsa_key))
    await get(connect(oauth(jwt, clock)))

    assertion = form(vendor.routes[0], 1)["assertion"]
    logged = caplog.text + output.getvalue()
    assert "new access token from the refresh_token grant" in logged
    for value in (
        "access-0",
        "access-1",
        "access-2",
        "refresh-1",
        "refresh-2",
        "client-secret-value",
        assertion.split(".")[2][:20],
        "Bearer ",
    ):
        assert value not in logged
    assert "access-1" not in repr(refreshing) and "refresh-1" not in repr(refreshing)
