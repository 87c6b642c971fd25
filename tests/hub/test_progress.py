"""The live progress line of a sync: what an operator watching it sees."""

from __future__ import annotations

import io

from rich.console import Console

from hub.progress import SyncProgress, summary
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


def test_a_streams_timer_stops_when_it_ends_and_its_line_says_how() -> None:
    now = [0.0]
    screen = io.StringIO()
    progress = SyncProgress(
        Console(file=screen, width=200, force_terminal=False), clock=lambda: now[0]
    )
    result = StreamResult("zd", "tickets", 1)
    progress(result)
    now[0] = 2.0
    result.status = "failed"
    progress(result)
    now[0] = 100.0  # the next stream runs on; this one's time must not
    progress.stop()
    line = next(x for x in screen.getvalue().splitlines() if "zd/tickets" in x)
    assert "0:00:02" in line and "0:01:40" not in line
    assert line.rstrip().endswith("failed")


def test_failed_streams_errors_go_under_the_summary_table_one_line_each() -> None:
    screen = io.StringIO()
    failed = StreamResult("zd", "tickets", 1, "failed", "zd/tickets: vendor said 500 " * 6)
    failed.counters.requests = 8
    fine = StreamResult("zd", "users", 2, "succeeded")
    Console(file=screen, width=100, force_terminal=False).print(summary([failed, fine]))
    lines = screen.getvalue().splitlines()
    row = next(x for x in lines if "zd/tickets" in x and "│" in x)
    assert row.split("│")[-2].strip() == "failed" and row.split("│")[-4].strip() == "8"
    below = lines[lines.index(next(x for x in lines if x.startswith("└"))) + 1 :]
    assert below[0].startswith("zd/tickets failed: zd/tickets: vendor said 500")
    assert not any("zd/users" in x for x in below)
