"""Stream states written before :mod:`hub.paging`'s versioned format, rewritten into it so
that an upgraded hub continues where the old one stopped instead of reading everything again.

Old shapes: cursor exports ``{"cursor": c}`` (or ``{"start_time": t}`` before the first
cursor), the organizations export ``{"start_time": t}``, and satisfaction ratings
``{"start_time": t, "after": a, "newest_created_at": n}`` mid-run or ``{"start_time": t,
"after": None}`` after a finished run. Anything else restarts the stream from the configured
start (returning None), which the idempotent upserts make safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.paging import ResumeToken, Watermark, stream_state

# Only the kind and shape of the state matter here, not the field or the parameters.
_WATERMARK = Watermark("updated_at")
_RESUME = ResumeToken(_WATERMARK)


def cursor_export(old: Mapping[str, Any]) -> dict[str, Any] | None:
    """``{"cursor": c}`` resumes at that cursor; ``{"start_time": t}`` starts at ``t``."""
    cursor, start = old.get("cursor"), _seconds(old.get("start_time"))
    if isinstance(cursor, str) and cursor:
        return stream_state(_RESUME.saved_state(token=cursor))
    if start is not None:
        return stream_state(_RESUME.saved_state(token=None, start=start))
    return None


def time_export(old: Mapping[str, Any]) -> dict[str, Any] | None:
    """``{"start_time": t}``: ``t`` was the last ``end_time``, the export's own token."""
    start = _seconds(old.get("start_time"))
    return None if start is None else stream_state(_RESUME.saved_state(token=start))


def cursor_list(old: Mapping[str, Any]) -> dict[str, Any] | None:
    """A mid-run state restarts its run from its ``start_time`` (the pages already read come
    again and are upserted unchanged); a finished one starts the next run there."""
    start = _seconds(old.get("start_time"))
    return None if start is None else stream_state(_WATERMARK.saved_state(start=start))


def _seconds(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
