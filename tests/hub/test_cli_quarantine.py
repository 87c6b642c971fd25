"""`hub quarantine` as an operator meets it: entries keep their ids across a full refresh, and
a replay of something that is not there, or not open, is an error that names it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from hub.testing.memory import MAPPINGS_DIR as MEMORY_MAPPINGS
from tests.support import run_hub

pytestmark = pytest.mark.slow

GENERATE = {"people": 10, "cases": 75, "seed": 2}


def hub_cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_hub(*args, cwd=home, stdin=stdin, module="hub.testing")


def _json(out: subprocess.CompletedProcess[str]) -> Any:
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _hub_with_quarantined_cases(home: Path) -> list[dict[str, Any]]:
    assert hub_cli(home, "init").returncode == 0
    assert hub_cli(home, "secrets", "set", "t", stdin="memory-token-q1\n").returncode == 0
    added = hub_cli(home, "connections", "add", "mem", "--connector", "memory",
                    "--set", "token=secret:t", "--set", f"generate={json.dumps(GENERATE)}",
                    "--set", "page_size=10")  # fmt: skip
    assert added.returncode == 0, added.stderr
    [cases] = _json(hub_cli(home, "sync", "mem", "--stream", "cases", "--json"))
    entries: list[dict[str, Any]] = _json(hub_cli(home, "quarantine", "list", "--json"))
    assert len(entries) == cases["records_quarantined"] > 1
    return entries


def _refused(out: subprocess.CompletedProcess[str], *names: str) -> None:
    assert out.returncode == 1, out.stdout
    assert "Traceback" not in out.stderr
    assert all(name in out.stderr for name in names), out.stderr


def test_a_full_refresh_keeps_the_quarantine_ids(tmp_path: Path) -> None:
    before = _hub_with_quarantined_cases(tmp_path)
    refreshed = hub_cli(tmp_path, "sync", "mem", "--stream", "cases", "--full-refresh")
    assert refreshed.returncode == 0, refreshed.stderr
    after = _json(hub_cli(tmp_path, "quarantine", "list", "--json"))
    assert [(e["id"], e["external_id"]) for e in after] == [
        (e["id"], e["external_id"]) for e in before
    ]


def test_replay_of_an_unknown_or_resolved_id_or_connection_is_an_error_naming_it(
    tmp_path: Path,
) -> None:
    entries = _hub_with_quarantined_cases(tmp_path)
    _lenient_mapping(tmp_path)
    first, *rest = (str(e["id"]) for e in entries)
    assert _json(hub_cli(tmp_path, "quarantine", "replay", "--id", first, "--json"))["moved"] == 1

    _refused(hub_cli(tmp_path, "quarantine", "replay", "--id", "9999"), "9999", "no quarantine")
    _refused(hub_cli(tmp_path, "quarantine", "replay", "--id", first), first, "resolved")
    _refused(hub_cli(tmp_path, "quarantine", "replay", "--connection", "nope"), "'nope'", "mem")
    still_open = _json(hub_cli(tmp_path, "quarantine", "list", "--json"))
    assert [str(e["id"]) for e in still_open] == rest  # nothing was replayed by the errors

    replayed = _json(hub_cli(tmp_path, "quarantine", "replay", "--connection", "mem", "--json"))
    assert replayed["moved"] == len(rest)


def test_replay_reports_an_entry_that_does_not_open_by_id_moves_the_rest_and_exits_1(
    tmp_path: Path,
) -> None:
    entries = _hub_with_quarantined_cases(tmp_path)
    _lenient_mapping(tmp_path)
    bad = entries[0]["id"]
    with closing(sqlite3.connect(tmp_path / "data" / "hub.db")) as db, db:
        db.execute("UPDATE quarantine SET raw = 'v1:AAAA' WHERE id = ?", (bad,))

    out = hub_cli(tmp_path, "quarantine", "replay", "--connection", "mem")

    assert out.returncode == 1, out.stderr
    assert f"failed: entry {bad}: quarantine.raw of entry {bad} does not open" in out.stderr
    assert f"moved {len(entries) - 1}," in out.stdout
    assert [e["id"] for e in _json(hub_cli(tmp_path, "quarantine", "list", "--json"))] == [bad]


def _lenient_mapping(home: Path) -> None:
    """An operator's copy of memory.yaml in the hub's mappings folder that accepts any status."""
    text = (MEMORY_MAPPINGS / "memory.yaml").read_text(encoding="utf-8")
    strict = "                  strict: true\n"
    assert text.count(strict) == 1
    text = text.replace(strict, "                  default: open\n")
    text = text.replace('version: "memory-1"', 'version: "memory-1-lenient"')
    (home / "mappings").mkdir(exist_ok=True)
    (home / "mappings" / "memory.yaml").write_text(text, encoding="utf-8")
