"""Cursor strategies besides the watermark: how a stream's incremental state decides where a
run starts, what it keeps while it reads, and what the next run needs.

Strategies here: :class:`FullRefresh` (no incremental state) and :class:`ResumeToken` (the
vendor's own continuation token, falling back to a watermark); the watermark itself is in
:mod:`hub.paging.watermark`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from hub.errors import ConnectorError
from hub.paging.paginators import Position
from hub.paging.strategy import CursorRun, CursorState, CursorStrategy, never_expired
from hub.paging.watermark import Watermark, WatermarkRun


@dataclass(frozen=True)
class FullRefresh(CursorStrategy):
    """No incremental state: every run reads the whole stream (mid-run resume still works)."""

    kind: ClassVar[str] = "full_refresh"

    def begin(self, saved: Mapping[str, Any] | None, *, resuming: bool) -> CursorRun:
        return _FullRefreshRun()


class _FullRefreshRun(CursorRun):
    def progress(self) -> CursorState:
        return {"kind": FullRefresh.kind}

    def finish(self, resume: Position | None) -> CursorState:
        return {"kind": FullRefresh.kind}


@dataclass(frozen=True)
class ResumeToken(CursorStrategy):
    """The vendor's continuation token (the paginator's resume position after the last page)
    starts the next run; without one, or when the vendor says the stored token expired, the
    run starts from the ``fallback`` watermark, which is kept up to date all along.

    ``expired`` recognises the vendor's "token expired" answer (e.g. a 400 or 410 with a
    given code). It is asked only about the first request of a read, the one that sends a
    stored token; the fallback happens once per read.
    """

    kind: ClassVar[str] = "resume_token"

    fallback: Watermark
    expired: Callable[[ConnectorError], bool] = never_expired

    def begin(self, saved: Mapping[str, Any] | None, *, resuming: bool) -> CursorRun:
        saved = saved or {}
        watermark = saved.get("watermark")
        return _ResumeTokenRun(
            self, saved.get("token"), self.fallback.begin(watermark, resuming=resuming)
        )

    def saved_state(self, *, token: Position | None, start: Any = None) -> CursorState:
        """A finished-run state resuming at ``token`` (for upgrades of older states)."""
        return {
            "kind": self.kind,
            "token": token,
            "watermark": self.fallback.saved_state(start=start),
        }


class _ResumeTokenRun(CursorRun):
    def __init__(self, strategy: ResumeToken, token: Position | None, run: WatermarkRun) -> None:
        self._strategy = strategy
        self._token = token
        self._watermark = run
        self.bounds = run.bounds

    def params(self) -> dict[str, Any]:
        return self._watermark.params()

    def resume_position(self) -> Position | None:
        return self._token

    def absorb(self, records: list[Any]) -> list[Any]:
        return self._watermark.absorb(records)

    def progress(self) -> CursorState:
        return {
            "kind": self._strategy.kind,
            "token": self._token,
            "watermark": self._watermark.progress(),
        }

    def finish(self, resume: Position | None) -> CursorState:
        return {
            "kind": self._strategy.kind,
            "token": resume,
            "watermark": self._watermark.finish(None),
        }

    def fall_back(self, error: ConnectorError) -> CursorRun | None:
        if not self._strategy.expired(error):
            return None
        return _ResumeTokenRun(self._strategy, None, self._watermark.restarted())
