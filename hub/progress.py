"""Live progress lines and summary tables for syncs (rich)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console, Group, RenderableType
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hub.run import StreamResult


class SyncProgress:
    """A progress line per stream: pages, records read and written, and a retry while one
    is pending (attempt, wait, reason), live. A line's timer stops when its stream ends."""

    def __init__(self, console: Console, *, clock: Callable[[], float] | None = None) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<28}"),
            TextColumn("{task.fields[pages]:>5} pages"),
            TextColumn("{task.completed:>9,.0f} read"),
            TextColumn("{task.fields[written]:>9,} written"),
            TextColumn("{task.fields[quarantined]:>5,} quarantined"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[ended]}{task.fields[waiting]}"),
            console=console,
            transient=False,
            get_time=clock,  # None: rich's own monotonic clock
        )
        self._tasks: dict[tuple[str, str], TaskID] = {}

    def __call__(self, result: StreamResult) -> None:
        key = (result.connection, result.stream)
        if not self._progress.live.is_started:
            self._progress.start()
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(
                f"{result.connection}/{result.stream}",
                total=None,
                pages=0,
                written=0,
                quarantined=0,
                waiting="",
                ended="",
            )
        c = result.counters
        task = self._tasks[key]
        self._progress.update(
            task,
            completed=c.records_read,
            pages=c.pages,
            written=c.records_written,
            quarantined=c.records_quarantined,
            waiting=result.waiting or "",
        )
        if result.status != "running":  # the stream ended: say how, and stop its timer
            self._progress.update(task, ended=result.status)
            self._finish(task)

    def _finish(self, task: TaskID) -> None:
        """Stop the line's timer: a task whose total is reached keeps its finishing time."""
        self._progress.update(task, total=self._progress.tasks[task].completed)

    def stop(self) -> None:
        if not self._progress.live.is_started:
            return
        for task in self._tasks.values():
            self._finish(task)
        self._progress.stop()


def summary_table(results: Sequence[StreamResult], title: str = "sync summary") -> Table:
    """Per stream: read, written, unchanged, deleted, quarantined, erased (only when some
    stream dropped records of forgotten customers), requests, seconds, status."""
    table = Table(title=title)
    table.add_column("stream")
    erased = any(r.counters.records_erased for r in results)
    columns = ("read", "written", "unchanged", "deleted", "quarantined")
    for col in (*columns, *(("erased",) if erased else ()), "requests", "seconds"):
        table.add_column(col, justify="right")
    table.add_column("status")
    for r in results:
        c = r.counters
        table.add_row(
            f"{r.connection}/{r.stream}",
            f"{c.records_read:,}",
            f"{c.records_written:,}",
            f"{c.records_unchanged:,}",
            f"{c.records_deleted:,}",
            f"{c.records_quarantined:,}",
            *((f"{c.records_erased:,}",) if erased else ()),
            f"{c.requests:,}",
            f"{r.seconds:.2f}",
            r.status,
        )
    return table


def summary(results: Sequence[StreamResult], title: str = "sync summary") -> RenderableType:
    """The summary table, then one line per stream that did not succeed, saying why: errors
    are sentences, which a table column would wrap out of shape."""
    lines = [
        Text.assemble((f"{r.connection}/{r.stream} {r.status}: ", "bold red"), r.error)
        for r in results
        if r.error is not None
    ]
    return Group(summary_table(results, title), *lines)
