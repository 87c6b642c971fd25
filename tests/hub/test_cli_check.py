"""`hub check` as an operator runs it: ok and exit 0 on a sound hub; each damaged value named
by table, row and reason, and exit 1, on a tampered one."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.support import run_hub

pytestmark = pytest.mark.slow


def test_check_passes_a_sound_hub_and_names_each_tampered_value(tmp_path: Path) -> None:
    def hub(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        out = run_hub(*args, cwd=tmp_path, stdin=stdin, module="hub.testing")
        return out.returncode, out.stdout, out.stderr

    assert hub("init")[0] == 0
    assert hub("secrets", "set", "t", stdin="memory-token-c1\n")[0] == 0
    generate = json.dumps({"people": 6, "cases": 12, "seed": 3})
    code, _, err = hub("connections", "add", "mem", "--connector", "memory",
                       "--set", "token=secret:t", "--set", f"generate={generate}")  # fmt: skip
    assert code == 0, err
    assert hub("sync", "mem", "--json")[0] == 0

    code, out, err = hub("check")
    assert code == 0, err
    assert out.startswith("ok: ") and "every sealed value opens" in out

    (tmp_path / "data").chmod(0o755)  # a data folder other users may list
    code, out, err = hub("check")
    assert code == 1
    assert "1 problem(s)" in out and "each reason says how to fix it" in out
    assert f"the data folder {(tmp_path / 'data').resolve()} is mode 0755" in err
    (tmp_path / "data").chmod(0o700)

    with closing(sqlite3.connect(tmp_path / "data" / "hub.db")) as db, db:
        first, second = db.execute("SELECT id, raw FROM records ORDER BY id LIMIT 2").fetchall()
        db.execute("UPDATE records SET raw = ? WHERE id = ?", (second[1], first[0]))
    code, out, err = hub("check", "--json")
    assert code == 1, err
    report = json.loads(out)
    [failure] = report["failures"]
    assert (failure["table"], failure["column"]) == ("records", "raw")
    assert failure["row"].startswith(f"{first[0]} (mem/")
    assert "records.raw (row mem/" in failure["reason"] and "does not open" in failure["reason"]
    assert "Traceback" not in err
