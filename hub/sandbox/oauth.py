"""Short-lived OAuth access tokens and rotating refresh tokens for sandbox token endpoints."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

TokenState = Literal["valid", "expired", "unknown"]


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    scope: str


class TokenIssuer:
    """Issues, checks and rotates tokens; a refresh invalidates the refresh token it used."""

    def __init__(
        self,
        *,
        access_ttl: int,
        refresh_ttl: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._clock = clock
        self._access: dict[str, float] = {}  # token -> expiry
        self._refresh: dict[str, tuple[float, str]] = {}  # token -> (expiry, scope)

    def issue(self, scope: str) -> IssuedToken:
        now = self._clock()
        token = IssuedToken(
            access_token=secrets.token_urlsafe(32),
            refresh_token=secrets.token_urlsafe(32),
            expires_in=self.access_ttl,
            refresh_expires_in=self.refresh_ttl,
            scope=scope,
        )
        self._access[token.access_token] = now + self.access_ttl
        self._refresh[token.refresh_token] = (now + self.refresh_ttl, scope)
        return token

    def refresh(self, refresh_token: str) -> IssuedToken | None:
        """New tokens for a live refresh token (which is then spent), else None."""
        found = self._refresh.pop(refresh_token, None)
        if found is None or found[0] <= self._clock():
            return None
        return self.issue(found[1])

    def check(self, access_token: str) -> TokenState:
        expiry = self._access.get(access_token)
        if expiry is None:
            return "unknown"
        return "valid" if expiry > self._clock() else "expired"
