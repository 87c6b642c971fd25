"""The live progress line of a sync: what an operator watching it sees."""

from __future__ import annotations

import io

from rich.console import Console

from hub.progress import SyncProgress
from hub.run import StreamResult


def _watch() -> tuple[SyncProgress, io.StringIO]:
    screen = io.StringIO()
    return SyncProgress(Console(file=screen, width=200, force_terminal=False)), screen


def test_a_pending_retry_shows_on_its_streams_line_with_attempt_wait_and_reason() -> None:
    progress, screen = _watch()
    waiting = StreamResult("zd", "tickets", 1, waiting="retry 2/8 in 0.4 s: 503")
    progress(waiting)
    progress.stop()
    line = next(x for x in screen.getvalue().splitlines() if "zd/tickets" in x)
    assert line.rstrip().endswith("retry 2/8 in 0.4 s: 503")


def test_the_retry_leaves_the_line_once_the_stream_moves_on() -> None:
    progress, screen = _watch()
    result = StreamResult("zd", "tickets", 1, waiting="retry 2/8 in 0.4 s: 503")
    progress(result)
    result.waiting = None
    progress(result)
    progress.stop()
    final = [x for x in screen.getvalue().splitlines() if "zd/tickets" in x][-1]
    assert "retry" not in final
