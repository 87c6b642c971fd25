"""OAuth 2.0 bearer credentials shared by every stream of a connection: obtained on first use,
renewed shortly before they expire and after a 401, with rotated refresh tokens saved.

The token endpoint is called through its own client (no credentials of its own, no recursion
into this flow), built like the connection's with the same TLS, timeout and retry settings
and counted with it: 5xx, network trouble and rate limits are retried as usual; a 4xx refusal
becomes an :class:`~hub.errors.AuthError` naming the grant type and what the endpoint said
(RFC 6749 ``error`` and its description, see :mod:`hub.http.token_refusal`), never a value
that was sent.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from hub.errors import AuthError, VendorError
from hub.http.auth import RefreshingAuth
from hub.http.client import ClientOptions
from hub.http.grants import (
    AccessTokenOnly,
    ClientCredentialsGrant,
    Grant,
    JwtBearerGrant,
    RefreshTokenGrant,
)
from hub.http.request import request_json
from hub.http.token_refusal import token_endpoint_errors
from hub.http.vendor import GENERIC_ERRORS, VendorErrors

log = logging.getLogger("hub.http")

Clock = Callable[[], float]

# Fields of a token request that name rather than prove: safe in a vendor's error message.
_PUBLIC_FIELDS = frozenset({"grant_type", "scope", "client_id"})

CredentialSaver = Callable[[str, str], Awaitable[None]]
"""Called as ``save(field, new_value)`` when a vendor rotates a credential of the config
(e.g. a refresh token that is spent on use), so the next process starts from the new one."""

TokenHook = Callable[[Mapping[str, Any]], "str | None"]
"""Called with each decoded token response; a returned URL becomes the client's base URL
(a vendor may name the instance that serves the account only in its token response)."""


class TokenEncoding(StrEnum):
    """How the token request's fields are sent."""

    FORM = "form"  # application/x-www-form-urlencoded, as RFC 6749 says
    JSON = "json"  # for token endpoints that only read JSON bodies


class TokenResponse(BaseModel):
    """The part of a token response (RFC 6749 section 5.1) that the flow itself uses."""

    model_config = ConfigDict(extra="allow", hide_input_in_errors=True)

    access_token: SecretStr = Field(min_length=1)
    expires_in: float | None = Field(default=None, ge=0)
    refresh_token: SecretStr | None = None


class OAuth2(RefreshingAuth):
    """Bearer credentials from an OAuth 2.0 token endpoint, for one connection.

    ``token_url`` is absolute or relative to the client's base URL (as it was when the client
    was built). A token with ``expires_in`` is renewed ``expiry_skew_seconds`` before it runs
    out (at most half its lifetime early); any token is renewed after a 401. Concurrent
    requests share one renewal. ``on_token`` sees every token response and may return a new
    base URL for the client; requests built against the old one are moved to it.
    """

    def __init__(
        self,
        grant: Grant,
        *,
        token_url: str,
        encoding: TokenEncoding = TokenEncoding.FORM,
        expiry_skew_seconds: float = 60.0,
        on_token: TokenHook | None = None,
        save_credential: CredentialSaver | None = None,
        vendor_errors: VendorErrors = GENERIC_ERRORS,
        clock: Clock = time.time,
    ) -> None:
        self.grant = grant
        self._token_url = token_url
        self._encoding = encoding
        self._skew = expiry_skew_seconds
        self._on_token = on_token
        self._save = save_credential
        self._errors = vendor_errors
        self._clock = clock
        self._access = _initial_access_token(grant)
        self._refresh = grant.refresh_token if isinstance(grant, RefreshTokenGrant) else None
        self._expires_at: float | None = None
        self._client: weakref.ref[httpx.AsyncClient] | None = None
        self._options: ClientOptions | None = None
        self._moved: tuple[str, str] | None = None  # (old base URL, new base URL)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(grant={self.grant.grant_type!r})"

    def bind(self, client: httpx.AsyncClient, options: ClientOptions) -> None:
        self._client = weakref.ref(client)
        self._options = options

    def is_expired(self) -> bool:
        if self._access is None:
            return True
        return self._expires_at is not None and self._clock() >= self._expires_at

    def apply(self, request: httpx.Request) -> None:
        if self._moved is not None:
            _rebase(request, *self._moved)
        if self._access is not None:
            request.headers["Authorization"] = f"Bearer {self._access.get_secret_value()}"

    async def refresh(self) -> None:
        """Ask the token endpoint for a new access token, keep what the answer carries."""
        grant = self.grant
        connection = self._bound().connection
        if isinstance(grant, AccessTokenOnly):
            raise AuthError(
                "the access token was refused and the connection has no refresh token or "
                "OAuth client to renew it; configure new credentials",
                connection=connection or None,
            )
        asked_at = self._clock()
        answer = await self._request_token(self._fields(asked_at), self._headers())
        token = _token_response(answer, grant.grant_type, connection)
        self._access = token.access_token
        self._expires_at = self._expiry(asked_at, token.expires_in)
        log.debug(
            "connection %s: new access token from the %s grant, expires in %s s",
            connection,
            grant.grant_type,
            "unknown" if token.expires_in is None else f"{token.expires_in:g}",
        )
        if isinstance(grant, RefreshTokenGrant):
            await self._keep_rotated(grant, token)
        if self._on_token is not None:
            moved_to = self._on_token(answer)
            if moved_to is not None:
                self._move_base_url(moved_to)

    # -- the token request -------------------------------------------------------------

    def _fields(self, now: float) -> dict[str, str]:
        grant = self.grant
        fields = {"grant_type": grant.grant_type}
        if isinstance(grant, RefreshTokenGrant) and self._refresh is not None:
            fields["refresh_token"] = self._refresh.get_secret_value()
        elif isinstance(grant, JwtBearerGrant):
            fields["assertion"] = grant.assertion(now)
        if isinstance(grant, ClientCredentialsGrant | RefreshTokenGrant | JwtBearerGrant):
            if grant.scope is not None:
                fields["scope"] = grant.scope
            if grant.client is not None:
                fields.update(grant.client.fields())
        return fields

    def _headers(self) -> dict[str, str]:
        client = None if isinstance(self.grant, AccessTokenOnly) else self.grant.client
        return client.headers() if client is not None else {}

    async def _request_token(
        self, fields: dict[str, str], headers: dict[str, str]
    ) -> dict[str, Any]:
        options = self._bound()
        body: dict[str, Any] = (
            {"json": fields} if self._encoding is TokenEncoding.JSON else {"data": fields}
        )
        errors = token_endpoint_errors(self._errors, self._credentials_sent(fields))
        async with options.companion() as client:
            try:
                _, answer = await request_json(
                    client,
                    "POST",
                    self._token_url,
                    settings=options.settings,
                    vendor_errors=errors,
                    # Asking again issues another token; a lost answer is worth a retry.
                    retry_safe=True,
                    connection=options.connection,
                    headers={"Accept": "application/json", **headers},
                    **body,
                )
            except (AuthError, VendorError) as exc:
                if exc.status is None or exc.status >= 500:
                    raise  # not a refusal: retries ran out, or the answer was unusable
                code = f" {exc.vendor_code}" if exc.vendor_code else ""
                said = f": {exc.vendor_detail}" if exc.vendor_detail else ""
                raise AuthError(
                    f"the token endpoint refused the {self.grant.grant_type} grant "
                    f"({exc.status}{code}{said})",
                    connection=options.connection or None,
                    status=exc.status,
                    vendor_code=exc.vendor_code,
                    vendor_detail=exc.vendor_detail,
                ) from exc
        if not isinstance(answer, dict):
            raise AuthError(
                f"the token endpoint answered the {self.grant.grant_type} grant with "
                "something other than a JSON object",
                connection=options.connection or None,
            )
        return answer

    def _credentials_sent(self, fields: dict[str, str]) -> list[str]:
        """Every secret value a token request carries, so no refusal can echo one back."""
        sent = [value for name, value in fields.items() if name not in _PUBLIC_FIELDS]
        client = None if isinstance(self.grant, AccessTokenOnly) else self.grant.client
        for secret in (client and client.client_secret, self._access, self._refresh):
            if secret:
                sent.append(secret.get_secret_value())
        return sent

    def _bound(self) -> ClientOptions:
        if self._options is None:
            raise TypeError(f"{type(self).__name__} needs a client built by hub.http.create_client")
        return self._options

    # -- what the answer carries -------------------------------------------------------

    def _expiry(self, asked_at: float, expires_in: float | None) -> float | None:
        if expires_in is None:
            return None  # renewed on a 401 only
        return asked_at + expires_in - min(self._skew, expires_in / 2)

    async def _keep_rotated(self, grant: RefreshTokenGrant, token: TokenResponse) -> None:
        rotated = token.refresh_token
        if rotated is None or rotated == self._refresh:
            return
        self._refresh = rotated
        connection = self._bound().connection
        if self._save is None:
            log.warning(
                "connection %s: the vendor rotated %s and nothing saves it; the new value "
                "lives only in this process",
                connection,
                grant.refresh_token_field,
            )
            return
        # The old refresh token may be spent already: unless the new one is saved, the next
        # process would start with a dead one.
        await self._save(grant.refresh_token_field, rotated.get_secret_value())
        if grant.access_token is not None:
            await self._save(grant.access_token_field, token.access_token.get_secret_value())

    def _move_base_url(self, url: str) -> None:
        target = httpx.URL(url)
        if not target.is_absolute_url or target.scheme not in ("http", "https"):
            raise AuthError(
                "the token response named a base URL that is not an absolute http(s) URL",
                connection=self._bound().connection or None,
            )
        client = self._client() if self._client is not None else None
        if client is None:
            return  # the client is gone; nothing left to move
        old = str(client.base_url)
        client.base_url = target
        new = str(client.base_url)  # with httpx's trailing slash
        if new != old:
            self._moved = (old, new)
            log.debug("connection %s: base URL moved to %s", self._bound().connection, new)


def _initial_access_token(grant: Grant) -> SecretStr | None:
    if isinstance(grant, AccessTokenOnly | RefreshTokenGrant):
        return grant.access_token
    return None


def _token_response(answer: dict[str, Any], grant_type: str, connection: str) -> TokenResponse:
    try:
        return TokenResponse.model_validate(answer)
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors(include_input=False) if e["loc"]})
        raise AuthError(
            f"the token endpoint's answer to the {grant_type} grant has no usable "
            f"{', '.join(fields) or 'token'}",
            connection=connection or None,
        ) from None


def _rebase(request: httpx.Request, old: str, new: str) -> None:
    """Point a request built against the old base URL at the new one."""
    url = str(request.url)
    if url.startswith(old):
        request.url = httpx.URL(new + url[len(old) :])
        request.headers["Host"] = request.url.netloc.decode("ascii")
