"""Loop detection shared by every paginator: a position visited twice in one walk, or the
same page answered twice in a row without the cursor moving (whatever new position came with
it), stops the read with a :class:`~hub.paging.errors.PaginationLoop` instead of an endless
sync."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hub.log import redact
from hub.paging.errors import PaginationLoop
from hub.paging.paginators import Paginator, Position

EMPTY_PAGES_ALLOWED = 10
"""Consecutive empty pages without progress tolerated before a walk counts as a loop."""


class LoopGuard:
    """Remembers the positions of one walk (as digests, so memory stays small)."""

    def __init__(self, paginator: Paginator, *, connection: str, stream: str, path: str) -> None:
        self._paginator = paginator
        self._connection = connection
        self._stream = stream
        self._path = path
        self._seen: set[bytes] = set()
        self._last_page: bytes | None = None
        self._repeats = 0

    def enter(self, position: Position) -> None:
        """Record that the walk moves to ``position``; raise if it was there before (a
        page that does not move the position, or moves it back). Readers call it before
        yielding the page that names ``position``, so a looping page's state is never
        stored."""
        digest = _digest(position)
        if digest in self._seen:
            self._raise(position, "the vendor pointed back to a page it had already sent")
        self._seen.add(digest)

    def compare(self, position: Position, records: list[Any], state: Any) -> None:
        """Raise when a page repeats the one before it: the same records and the same
        ``state`` (the cursor's progress after the page), at the same window.

        Client-counted positions (page numbers, offsets) that a vendor ignores answer the
        same page again. Vendor-given positions (tokens, next URLs) may be new on every
        page while the content stands still, a loop the positions alone cannot show. A page
        that only partly overlaps the one before is not a repeat. Empty pages repeat
        legitimately near the end of some exports, so only a run of more than
        ``EMPTY_PAGES_ALLOWED`` of them, with no progress, is taken for a loop."""
        if not records and self._paginator.counts_positions():
            return  # a client-counted walk ends at an empty page by itself
        fingerprint = _digest(
            [len(records), records[:1], records[-1:], state, self._paginator.progress(position)]
        )
        if fingerprint != self._last_page:
            self._last_page, self._repeats = fingerprint, 0
            return
        self._repeats += 1
        if records:
            self._raise(position, "the vendor answered it with the same records as the page before")
        if self._repeats >= EMPTY_PAGES_ALLOWED:
            self._raise(
                position,
                f"the vendor answered {self._repeats + 1} empty pages in a row, each with a new "
                "position and none moving the cursor",
            )

    def reset(self) -> None:
        """Forget the walk (a new one starts, e.g. after falling back from a resume token)."""
        self._seen.clear()
        self._last_page = None
        self._repeats = 0

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
