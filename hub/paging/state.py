"""The versioned envelope of a stream's state, as every :mod:`hub.paging` reader writes it::

    {"version": 1, "next": <position of the next page, or null after a finished run>,
     "cursor": {"kind": "<cursor strategy>", ...what the strategy keeps...}}

A state of a newer or unknown version, or of another cursor strategy, is refused with a
:class:`StreamStateError`. A state without ``version`` was written before this format: a
stream may pass an ``upgrade`` function that rewrites it (or returns None to restart the
stream from its beginning, deliberately); without one it is refused too. When a later
version of this format comes, the loader upgrades version 1 here, in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from hub.paging.errors import StreamStateError
from hub.paging.paginators import Position

STATE_VERSION = 1

Upgrade = Callable[[Mapping[str, Any]], dict[str, Any] | None]
"""Rewrites a state written before the versioned format; None restarts the stream."""

_START_OVER = "start the stream over with `hub sync --full-refresh`"


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    next: Any = None
    cursor: dict[str, Any]


@dataclass(frozen=True)
class SavedState:
    """A stored state, checked: where the run continues (None: start a new run) and what
    the cursor strategy kept."""

    next: Position | None
    cursor: dict[str, Any]


def stream_state(cursor: Mapping[str, Any], *, next: Position | None = None) -> dict[str, Any]:
    """The envelope around a cursor strategy's state (also for ``upgrade`` functions)."""
    return {"version": STATE_VERSION, "next": next, "cursor": dict(cursor)}


def load_state(
    raw: Mapping[str, Any] | None,
    *,
    kind: str,
    upgrade: Upgrade | None,
    connection: str,
    stream: str,
) -> SavedState | None:
    """The stored state of a stream whose cursor strategy is ``kind``; None for none."""
    if not raw:
        return None

    def refuse(message: str) -> StreamStateError:
        return StreamStateError(f"{message}; {_START_OVER}", connection=connection, stream=stream)

    if "version" not in raw:
        if upgrade is None:
            raise refuse("the stored state has no version (it predates versioned states)")
        upgraded = upgrade(raw)
        if upgraded is None:
            return None
        raw = upgraded
    version = raw.get("version")
    if version != STATE_VERSION:
        newer = isinstance(version, int) and version > STATE_VERSION
        raise refuse(
            f"the stored state has version {version!r}; this hub reads version {STATE_VERSION}"
            + (" (it was written by a newer hub)" if newer else "")
        )
    try:
        envelope = _Envelope.model_validate(raw)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "state" for e in exc.errors())
        raise refuse(f"the stored state is malformed at {fields}") from None
    stored_kind = envelope.cursor.get("kind")
    if stored_kind != kind:
        raise refuse(
            f"the stored state was written by a {stored_kind!r} cursor, "
            f"but the stream now reads with {kind!r}"
        )
    return SavedState(next=envelope.next, cursor=envelope.cursor)
