"""`hub audit` and `--as` as an auditor meets them: a failed authentication is on the trail,
an untouched trail verifies against a kept checkpoint, and one altered entry is named with
exit code 1."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.support import run_hub

pytestmark = pytest.mark.slow


def test_an_auditor_keeps_a_checkpoint_and_verify_names_the_altered_entry(
    tmp_path: Path,
) -> None:
    def hub(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        done = run_hub(*args, cwd=tmp_path, stdin=stdin)
        return done.returncode, done.stdout, done.stderr

    assert hub("init")[0] == 0
    assert hub("secrets", "set", "zd-token", stdin="t0ken-value\n")[0] == 0
    code, _, err = hub("--as", "ghost", "secrets", "list")
    assert code == 1 and "authentication failed: no principal named ghost" in err
    code, out, _ = hub("audit", "checkpoint", "--export", "kept.json")
    assert code == 0 and (tmp_path / "kept.json").is_file()
    code, out, _ = hub("audit", "list", "--outcome", "denied", "--json")
    [failed] = json.loads(out)
    assert (failed["action"], failed["principal"]) == ("auth.failed", "ghost")
    code, out, _ = hub("audit", "verify", "--checkpoint", "kept.json")
    assert code == 0 and out.startswith("ok: ")

    with closing(sqlite3.connect(tmp_path / "data" / "hub.db")) as db, db:
        db.execute("UPDATE audit_entries SET principal = 'someone-else' WHERE seq = 1")
    code, out, err = hub("audit", "verify", "--checkpoint", "kept.json", "--json")
    assert code == 1 and json.loads(out)["first_bad_entry"] == 1
    assert "entry 1 does not match its leaf hash" in err
    assert "t0ken-value" not in (tmp_path / "kept.json").read_text()


def test_export_before_writes_an_archive_only_to_a_file_and_only_of_signed_old_entries(
    tmp_path: Path,
) -> None:
    def hub(*args: str) -> tuple[int, str, str]:
        done = run_hub(*args, cwd=tmp_path)
        return done.returncode, done.stdout, done.stderr

    assert hub("init")[0] == 0
    code, _, err = hub("audit", "export", "--before", "2026-01-01")
    assert code != 0 and "--before needs --output FILE" in err
    code, _, err = hub("audit", "export", "--before", "last year", "-o", "a.jsonl")
    assert code != 0 and "--before: 'last year' is not an ISO 8601 date" in err
    code, _, err = hub("audit", "export", "--before", "2024-01-01", "-o", "a.jsonl")
    assert code != 0 and "no entries older than it" in err
    code, out, err = hub("audit", "export", "--before", "2099-01-01", "-o", "a.jsonl", "--json")
    assert code == 0, err
    assert json.loads(out)["from"] == 1 and (tmp_path / "a.jsonl").is_file()
