"""Ctrl-C or SIGTERM in the middle of `hub sync`: the run is `interrupted`, not `failed`, its
committed pages stay, and the next sync resumes from them. A real subprocess, real signals."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hub.cli.support import HubCli, memory_hub, ok_json
from tests.support import hub_env

PEOPLE = 40  # 8 pages of 5, 0.25 s each: about 2 s of sync to interrupt


def _runs(home: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(f"file:{home / 'data' / 'hub.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT stream, status, pages FROM sync_runs ORDER BY id").fetchall()
    return [(str(s), str(st), int(p)) for s, st, p in rows]


def _wait_for_committed_pages(home: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(status == "running" and pages >= 2 for _, status, pages in _runs(home)):
            return
        time.sleep(0.05)
    raise AssertionError(f"the sync never got going (exit {proc.poll()})")


@pytest.mark.parametrize(
    ("sent", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["sigterm", "ctrl-c"]
)
def test_an_interrupted_sync_is_marked_interrupted_and_the_next_one_resumes(
    hub_cli: HubCli, tmp_path: Path, sent: signal.Signals, code: int
) -> None:
    memory_hub(hub_cli, people=PEOPLE, cases=0, page_delay_seconds=0.25)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.testing", "sync", "mem", "--stream", "people"],
        cwd=tmp_path, env=hub_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_for_committed_pages(tmp_path, proc)
    proc.send_signal(sent)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        "error: interrupted; committed pages are kept, the next run resumes from them"
    ]
    [(stream, status, pages)] = _runs(tmp_path)
    assert (stream, status) == ("people", "interrupted") and 2 <= pages < PEOPLE // 5
    last = ok_json(hub_cli("connections", "list", "--json"))[0]
    assert last["last_status"] == "interrupted"

    [rest] = ok_json(hub_cli("sync", "mem", "--stream", "people", "--json"))
    assert rest["status"] == "succeeded"
    assert rest["records_written"] == PEOPLE - 5 * pages  # from the last committed page on
