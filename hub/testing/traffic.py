"""What a connector's client said to its sandbox, and how long it chose to wait between
attempts: the evidence the contract suite judges retries, token refreshes and logs by.

:class:`Traffic` hooks into a connection's ``httpx.AsyncClient`` (its event hooks see each
request as sent, credentials applied) and stands in for the pause of :mod:`hub.http.request`,
recording each asked delay instead of sleeping it, so retry checks cost no wall-clock time.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest

import hub.http.request


@dataclass(frozen=True)
class Exchange:
    """One response the client received (retries and refresh round trips each count)."""

    method: str
    path: str
    status: int
    retry_after: float | None  # seconds the vendor asked for, if it did
    authorization: str | None = field(repr=False)  # the header value sent; never print it


@dataclass(frozen=True)
class Pause:
    """A pause the retry machinery asked for before its next attempt."""

    seconds: float


@dataclass
class Traffic:
    """Exchanges and pauses in the order they happened."""

    events: list[Exchange | Pause] = field(default_factory=list)

    def watch(self, client: httpx.AsyncClient) -> None:
        """Record every response ``client`` receives from now on."""
        client.event_hooks["response"] = [*client.event_hooks["response"], self._on_response]

    def skip_pauses(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Record the retry pauses of :mod:`hub.http` instead of sleeping them."""

        async def pause(seconds: float) -> None:
            self.events.append(Pause(seconds))
            await asyncio.sleep(0)

        monkeypatch.setattr(hub.http.request, "_pause", pause)

    async def _on_response(self, response: httpx.Response) -> None:
        request = response.request
        self.events.append(
            Exchange(
                method=request.method,
                path=request.url.path,
                status=response.status_code,
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
                authorization=request.headers.get("authorization"),
            )
        )

    @property
    def exchanges(self) -> list[Exchange]:
        return [e for e in self.events if isinstance(e, Exchange)]

    def authorizations(self) -> set[str]:
        """Every Authorization value sent, and the credential part of each."""
        found: set[str] = set()
        for exchange in self.exchanges:
            if exchange.authorization:
                found.add(exchange.authorization)
                found.add(exchange.authorization.partition(" ")[2].strip())
        return {v for v in found if v}

    def bearer_tokens(self) -> list[str]:
        """Digests of the distinct bearer tokens sent, in the order first used."""
        seen: list[str] = []
        for exchange in self.exchanges:
            scheme, _, token = (exchange.authorization or "").partition(" ")
            if scheme.lower() == "bearer" and token:
                digest = hashlib.sha256(token.encode()).hexdigest()
                if digest not in seen:
                    seen.append(digest)
        return seen

    def unhonoured_retry_afters(self) -> list[str]:
        """Each response with Retry-After whose next pause was shorter than asked (or that was
        followed by another request without any pause), described without credentials."""
        failures: list[str] = []
        for i, event in enumerate(self.events):
            if not isinstance(event, Exchange) or event.retry_after is None:
                continue
            if event.status != 429 and event.status < 500:
                continue  # Retry-After on a success or a redirect asks for no retry
            following = self.events[i + 1] if i + 1 < len(self.events) else None
            if following is None:
                continue  # the last response: nothing was retried after it
            if not isinstance(following, Pause):
                failures.append(f"{event.method} {event.path} -> {event.status}: retried at once")
            elif following.seconds < event.retry_after:
                failures.append(
                    f"{event.method} {event.path} -> {event.status}: asked {event.retry_after:g}"
                    f" s, waited {following.seconds:g} s"
                )
        return failures


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
