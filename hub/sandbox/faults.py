"""Deterministic fault injection for the vendor sandboxes.

A fault spec such as ``429=0.05,500=0.02,reset=0.01`` gives the share of requests that get
each fault. Which request gets which fault depends only on the sandbox seed and the request's
sequence number, so a run with the same seed and the same request order sees the same faults.
Faults are injected *before* the vendor handler runs, so a faulted write never happens.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.responses import Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FAULT_KINDS = ("429", "500", "502", "503", "reset", "slow", "truncate", "expire")
CONTROL_PREFIX = "/_sandbox/"
SLOW_SECONDS = (0.2, 0.5)
_SAFE_METHODS = frozenset({"GET", "HEAD"})


def unit_draw(seed: int, n: int, salt: str = "fault") -> float:
    """A uniform number in [0, 1) that depends only on (seed, n, salt)."""
    digest = hashlib.blake2b(f"{seed}/{salt}/{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class FaultSpec:
    """Shares of requests that get each fault kind, in the order they were written."""

    shares: tuple[tuple[str, float], ...] = ()

    @classmethod
    def parse(cls, spec: str | None) -> FaultSpec:
        """Parse ``kind=share,...``; a ValueError names the bad item and the known kinds."""
        if spec is None or not spec.strip():
            return cls()
        shares: list[tuple[str, float]] = []
        for raw in spec.split(","):
            item = raw.strip()
            if not item:
                continue
            shares.append(_parse_item(item, seen={kind for kind, _ in shares}))
        total = sum(share for _, share in shares)
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault spec {spec!r}: shares add up to {total:g}, more than 1")
        return cls(tuple(shares))

    def pick(self, seed: int, n: int) -> str | None:
        """The fault for request number ``n`` under ``seed``, or None."""
        if not self.shares:
            return None
        draw = unit_draw(seed, n)
        edge = 0.0
        for kind, share in self.shares:
            edge += share
            if draw < edge:
                return kind
        return None


def _parse_item(item: str, *, seen: set[str]) -> tuple[str, float]:
    kind, sep, value = item.partition("=")
    kind = kind.strip().lower()
    if not sep:
        raise ValueError(f"fault spec item {item!r}: expected kind=share, e.g. 429=0.05")
    if kind not in FAULT_KINDS:
        raise ValueError(
            f"fault spec item {item!r}: unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}"
        )
    if kind in seen:
        raise ValueError(f"fault spec item {item!r}: fault {kind!r} given twice")
    try:
        share = float(value)
    except ValueError:
        raise ValueError(
            f"fault spec item {item!r}: share {value.strip()!r} is not a number"
        ) from None
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"fault spec item {item!r}: share must be between 0 and 1")
    return kind, share


class FaultResponder(Protocol):
    """The vendor's own shape of the error responses a fault produces."""

    def rate_limited(self, retry_after: float) -> Response:
        """A 429 in the vendor's format, telling the client to wait ``retry_after`` seconds."""
        ...

    def server_error(self, status: int) -> Response:
        """A 5xx in the vendor's format."""
        ...

    def token_expired(self) -> Response:
        """A 401 as the vendor sends it for an expired access token."""
        ...


@dataclass
class SandboxStats:
    """Counters shown by ``GET /_sandbox/stats``."""

    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    def next_request(self) -> int:
        """Count one vendor request and return its sequence number (0-based)."""
        n = self.requests
        self.requests += 1
        return n

    def record_fault(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "faults": dict(sorted(self.faults.items())),
            "faults_total": sum(self.faults.values()),
        }


def _bearer(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            return bool(value[:7].lower() == b"bearer ")
    return False


class FaultInjector:
    """ASGI middleware that injects the faults of a :class:`FaultSpec` before the handler.

    It must wrap the whole app directly (outermost), so that ``send`` is the server's own
    and the connection can be dropped for ``reset`` and ``truncate``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        spec: FaultSpec,
        seed: int,
        responder: FaultResponder,
        stats: SandboxStats,
        retry_after_max: float = 1.0,
    ) -> None:
        self.app = app
        self.spec = spec
        self.seed = seed
        self.responder = responder
        self.stats = stats
        self.retry_after_max = retry_after_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        n = self.stats.next_request()
        fault = self.spec.pick(self.seed, n)
        if fault == "expire" and not _bearer(scope):
            fault = None  # only access tokens expire; API keys and Basic credentials do not
        if fault is None:
            await self.app(scope, receive, send)
            return
        self.stats.record_fault(fault)
        await self._inject(fault, n, scope, receive, send)

    async def _inject(self, fault: str, n: int, scope: Scope, receive: Receive, send: Send) -> None:
        if fault == "slow":
            low, high = SLOW_SECONDS
            await asyncio.sleep(low + (high - low) * unit_draw(self.seed, n, "slow"))
            await self.app(scope, receive, send)
        elif fault == "429":
            retry_after = self.retry_after_max * unit_draw(self.seed, n, "retry-after")
            await self.responder.rate_limited(retry_after)(scope, receive, send)
        elif fault in ("500", "502", "503"):
            await self.responder.server_error(int(fault))(scope, receive, send)
        elif fault == "expire":
            await self.responder.token_expired()(scope, receive, send)
        elif fault == "reset":
            await _drop_connection(send)
        elif fault == "truncate":
            await self._truncate(scope, receive, send)
        else:  # pragma: no cover - FaultSpec.parse admits only known kinds
            raise AssertionError(f"unhandled fault {fault!r}")

    async def _truncate(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 200 with only half of the body the Content-Length announces."""
        if scope["method"] in _SAFE_METHODS:
            start, body = await _capture(self.app, scope, receive)
        else:
            # A write must not happen under a fault, so the body is a stand-in.
            start = {"type": "http.response.start", "status": 200, "headers": []}
            body = json.dumps({"sandbox": "truncated response"}).encode()
        transport = _transport_of(send)
        half = body[: len(body) // 2]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        announced = len(body) if transport is not None else len(half)
        headers.append((b"content-length", str(announced).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if transport is None:
            # No socket to close (e.g. an in-process transport): a short, undecodable body.
            await send({"type": "http.response.body", "body": half, "more_body": False})
            return
        await send({"type": "http.response.body", "body": half, "more_body": True})
        transport.close()
        await _wait_disconnected(send)


class ConnectionDropped(ConnectionResetError):
    """Raised by the ``reset`` fault when there is no socket to drop."""


async def _drop_connection(send: Send) -> None:
    transport = _transport_of(send)
    if transport is None:
        raise ConnectionDropped("sandbox fault: connection reset")
    transport.abort()
    await _wait_disconnected(send)


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """Run ``app`` and collect its response instead of sending it."""
    start: Message = {}
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    return start, b"".join(chunks)


def _transport_of(send: Send) -> asyncio.Transport | None:
    # uvicorn's `send` is a bound method of its per-request cycle, which holds the transport.
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


async def _wait_disconnected(send: Send) -> None:
    """Let the server notice the closed socket, so it does not try to answer afterwards."""
    cycle = getattr(send, "__self__", None)
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.01)
