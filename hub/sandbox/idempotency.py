"""Idempotency keys for sandbox write endpoints: the first answer is kept and replayed."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

MISMATCH: Literal["mismatch"] = "mismatch"


@dataclass(frozen=True)
class StoredResponse:
    """The response first given for a key, replayed verbatim on a retry."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def fingerprint(body: bytes) -> str:
    """A digest of a request body that ignores JSON key order and whitespace."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class IdempotencyStore:
    """Keys expire after ``ttl_seconds``; a key reused with another body is a mismatch."""

    def __init__(self, *, ttl_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, str, StoredResponse]] = {}

    def lookup(
        self, key: str, body_fingerprint: str
    ) -> StoredResponse | Literal["mismatch"] | None:
        """The stored response, ``MISMATCH`` when the key was used for another body, or None."""
        found = self._entries.get(key)
        if found is None:
            return None
        stored_at, stored_fingerprint, response = found
        if self._clock() - stored_at > self.ttl_seconds:
            del self._entries[key]
            return None
        return response if stored_fingerprint == body_fingerprint else MISMATCH

    def remember(self, key: str, body_fingerprint: str, response: StoredResponse) -> None:
        self._entries[key] = (self._clock(), body_fingerprint, response)
