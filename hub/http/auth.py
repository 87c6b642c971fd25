"""Credentials on every request: a fixed bearer token, or credentials refreshed on a 401."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING

import httpx
from pydantic import SecretStr

if TYPE_CHECKING:
    from hub.http.client import ClientOptions


class RefreshingAuth(httpx.Auth, abc.ABC):
    """Credentials that can be renewed: apply them, send, and on a 401 refresh once and resend.

    One instance serves all streams of a connection. When many requests hit 401 together only
    the first refreshes; the others see that the credentials changed meanwhile and just resend.
    A second 401 is returned to the caller (:func:`~hub.http.request_json` raises AuthError).
    """

    _refresh_lock: asyncio.Lock | None = None
    _generation: int = 0  # how many refreshes have completed

    @abc.abstractmethod
    async def refresh(self) -> None:
        """Obtain new credentials; raise AuthError if the vendor refuses to issue them."""

    @abc.abstractmethod
    def apply(self, request: httpx.Request) -> None:
        """Put the current credentials on ``request`` (usually its Authorization header)."""

    def bind(self, client: httpx.AsyncClient, options: ClientOptions) -> None:
        """Called by :func:`~hub.http.create_client` with the client this auth serves and
        what it was built with; an auth that needs neither ignores it."""

    def is_expired(self) -> bool:
        """True when the credentials cannot work (none obtained yet, or past their known
        expiry), so the flow refreshes before sending instead of spending a request on a 401."""
        return False

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise TypeError(f"{type(self).__name__} works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        seen = self._generation
        fresh = self.is_expired()
        if fresh:
            await self._refresh_unless_done_since(seen)
            seen = self._generation
        self.apply(request)
        response = yield request
        if response.status_code == 401 and not fresh:  # just-issued credentials get no retry
            await self._refresh_unless_done_since(seen)
            self.apply(request)
            yield request

    async def _refresh_unless_done_since(self, seen: int) -> None:
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        async with self._refresh_lock:
            if self._generation == seen:
                await self.refresh()
                self._generation += 1


class StaticBearer(httpx.Auth):
    """A fixed bearer token (an API token that never expires). For HTTP Basic use
    :class:`httpx.BasicAuth`."""

    def __init__(self, token: str | SecretStr) -> None:
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token={self._token})"
