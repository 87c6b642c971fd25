"""Loop detection shared by every paginator: a position visited twice in one walk, or (for
client-counted positions) the same page answered twice in a row, stops the read with a
:class:`~hub.paging.errors.PaginationLoop` instead of an endless sync."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hub.log import redact
from hub.paging.errors import PaginationLoop
from hub.paging.paginators import Paginator, Position


class LoopGuard:
    """Remembers the positions of one walk (as digests, so memory stays small)."""

    def __init__(self, paginator: Paginator, *, connection: str, stream: str, path: str) -> None:
        self._paginator = paginator
        self._connection = connection
        self._stream = stream
        self._path = path
        self._seen: set[bytes] = set()
        self._last_page: bytes | None = None

    def enter(self, position: Position) -> None:
        """Record that the walk moves to ``position``; raise if it was there before (a
        page that does not move the position, or moves it back). Readers call it before
        yielding the page that names ``position``, so a looping page's state is never
        stored."""
        digest = _digest(position)
        if digest in self._seen:
            self._raise(position, "the vendor pointed back to a page it had already sent")
        self._seen.add(digest)

    def compare(self, position: Position, records: list[Any]) -> None:
        """For client-counted positions: raise when ``records`` repeat the previous page."""
        if not self._paginator.counts_positions() or not records:
            return
        fingerprint = _digest([len(records), records[0], records[-1]])
        if fingerprint == self._last_page:
            self._raise(position, "the vendor answered it with the same records as the page before")
        self._last_page = fingerprint

    def reset(self) -> None:
        """Forget the walk (a new one starts, e.g. after falling back from a resume token)."""
        self._seen.clear()
        self._last_page = None

    def _raise(self, position: Position, why: str) -> None:
        # Positions may hold search terms (a next URL's query): mask anything personal.
        cursor = redact(self._paginator.describe(position))
        raise PaginationLoop(
            f"{self._path} did not move past {cursor}: {why}",
            connection=self._connection,
            stream=self._stream,
            cursor=cursor,
        )


def _digest(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()
