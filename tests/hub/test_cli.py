"""The `hub` command as an operator uses it: real subprocesses of ``python -m hub.testing`` (the
CLI with the memory connector registered), so the CLI is covered without any vendor."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hub.testing import MemorySource
from tests.support import run_hub

pytestmark = pytest.mark.slow

TOKEN = "memory-token-7c2d"  # made up for the tests
GENERATE = {"people": 30, "cases": 75, "seed": 4}


def hub_cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_hub(*args, cwd=home, stdin=stdin, module="hub.testing")


def _json(out: subprocess.CompletedProcess[str]) -> Any:
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _add_memory_connection(home: Path, name: str, *settings: str) -> None:
    sets = [f"generate={json.dumps(GENERATE)}", "page_size=10", *settings]
    added = hub_cli(home, "connections", "add", name, "--connector", "memory",
                    *(arg for s in sets for arg in ("--set", s)))  # fmt: skip
    assert added.returncode == 0, added.stderr


def test_connector_show_lists_the_config_fields_their_types_and_which_are_secret(
    tmp_path: Path,
) -> None:
    shown = _json(hub_cli(tmp_path, "connector", "show", "memory", "--json"))
    fields = {f["name"]: f for f in shown["fields"]}
    assert fields["token"]["secret"] and not fields["token"]["personal"]
    assert fields["email"]["personal"] and not fields["email"]["secret"]
    assert (fields["page_size"]["type"], fields["page_size"]["default"]) == ("int", 50)
    assert [s["name"] for s in shown["streams"]] == ["people", "cases"]
    assert "memory" in [c["name"] for c in _json(hub_cli(tmp_path, "connector", "list", "--json"))]
    unknown = hub_cli(tmp_path, "connector", "show", "nope")
    assert unknown.returncode == 1 and "nope" in unknown.stderr


def test_operator_walkthrough_init_secret_connection_sync_find_quarantine(tmp_path: Path) -> None:
    home = tmp_path
    init = hub_cli(home, "init")
    assert init.returncode == 0, init.stderr
    assert (home / "hub.toml").is_file()
    assert (home / "secrets" / "master.key").stat().st_mode & 0o777 == 0o600

    literal = hub_cli(home, "connections", "add", "mem", "--connector", "memory",
                      "--set", f"token={TOKEN}")  # fmt: skip
    assert literal.returncode == 1 and "secret:NAME" in literal.stderr
    assert TOKEN not in literal.stderr
    misspelt = hub_cli(home, "connections", "add", "mem", "--connector", "memory",
                       "--set", "colour=red")  # fmt: skip
    assert misspelt.returncode == 1 and "colour" in misspelt.stderr

    stored = hub_cli(home, "secrets", "set", "mem-token", stdin=TOKEN + "\n")
    assert stored.returncode == 0, stored.stderr
    listed = hub_cli(home, "secrets", "list", "--json")
    assert [s["name"] for s in _json(listed)] == ["mem-token"]
    assert TOKEN not in listed.stdout

    _add_memory_connection(home, "mem", "token=secret:mem-token", "email=ops.person@acme.example")
    assert hub_cli(home, "connections", "test", "mem").returncode == 0

    results = {r["stream"]: r for r in _json(hub_cli(home, "sync", "mem", "--json"))}
    assert set(results) == {"people", "cases"}
    assert results["people"]["records_written"] == GENERATE["people"]
    assert results["cases"]["records_quarantined"] > 0

    refreshed = _json(hub_cli(home, "sync", "mem", "--stream", "cases", "--full-refresh", "--json"))
    assert [(r["stream"], r["records_written"]) for r in refreshed] == [("cases", 0)]

    email = MemorySource.generated(**GENERATE).latest("people")["p3"]["email"]
    found = hub_cli(home, "customers", "find", "--email", f"  {email.upper()} ", "--json")
    assert [r["kind"] for r in _json(found)] == ["customer"]
    assert email not in found.stdout  # the answer carries ids, not personal data

    quarantined = _json(hub_cli(home, "quarantine", "list", "--json"))
    assert len(quarantined) == results["cases"]["records_quarantined"]
    assert all(q["stream"] == "cases" for q in quarantined)
    shown = _json(hub_cli(home, "quarantine", "show", str(quarantined[0]["id"]), "--json"))
    assert "payload_fields" in shown
    replay = _json(hub_cli(home, "quarantine", "replay", "--json"))
    assert replay["still_invalid"] == len(quarantined)

    assert hub_cli(home, "connections", "remove", "mem").returncode == 0
    assert _json(hub_cli(home, "connections", "list", "--json")) == []


def test_a_failing_source_shows_every_stream_failed_and_exits_1(tmp_path: Path) -> None:
    assert hub_cli(tmp_path, "init").returncode == 0
    assert hub_cli(tmp_path, "secrets", "set", "t", stdin=TOKEN).returncode == 0
    _add_memory_connection(
        tmp_path, "broken", "token=secret:t", f"generate={json.dumps({'fail_at_page': 0})}"
    )
    table = hub_cli(tmp_path, "sync", "broken")
    assert table.returncode == 1
    assert "broken/cases" in table.stdout and "failed" in table.stdout
    assert TOKEN not in table.stdout + table.stderr
    as_json = hub_cli(tmp_path, "sync", "broken", "--json")
    assert as_json.returncode == 1
    results = json.loads(as_json.stdout)
    assert {r["stream"] for r in results} == {"people", "cases"}
    assert all(r["status"] == "failed" and "failed on purpose" in r["error"] for r in results)


def test_commands_outside_a_hub_say_how_to_make_one(tmp_path: Path) -> None:
    out = hub_cli(tmp_path, "connections", "list")
    assert out.returncode == 1
    assert "hub init" in out.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert hub_cli(tmp_path, "customers", "find").returncode == 2
    assert hub_cli(tmp_path, "sync", "--no-such-option").returncode == 2


@pytest.mark.parametrize("value", ["", "   \n"])
def test_an_empty_secret_is_refused_in_one_line_and_nothing_is_stored(
    tmp_path: Path, value: str
) -> None:
    assert hub_cli(tmp_path, "init").returncode == 0
    refused = hub_cli(tmp_path, "secrets", "set", "blank", stdin=value)
    assert refused.returncode == 1
    assert "secret blank: the value is empty; nothing stored" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert json.loads(hub_cli(tmp_path, "secrets", "list", "--json").stdout) == []


def test_syncing_an_unknown_stream_names_the_streams_there_are(tmp_path: Path) -> None:
    assert hub_cli(tmp_path, "init").returncode == 0
    added = hub_cli(
        tmp_path, "connections", "add", "mem", "--connector", "memory", "--set",
        f"generate={json.dumps(GENERATE)}",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    out = hub_cli(tmp_path, "sync", "mem", "--stream", "nope")
    assert out.returncode == 1
    assert "memory has no stream 'nope'; streams: people, cases" in out.stderr
    assert "Traceback" not in out.stderr
    assert hub_cli(tmp_path, "sync", "mem", "--stream", "people").returncode == 0


def test_forget_asks_first_erases_for_good_and_says_so_everywhere(tmp_path: Path) -> None:
    home = tmp_path
    assert hub_cli(home, "init").returncode == 0
    _add_memory_connection(home, "mem")
    synced = {r["stream"]: r for r in _json(hub_cli(home, "sync", "mem", "--json"))}
    email = MemorySource.generated(**GENERATE).latest("people")["p3"]["email"]
    [p3] = _json(hub_cli(home, "customers", "find", "--email", email, "--json"))

    declined = hub_cli(home, "customers", "forget", str(p3["id"]), "--reason", "DSR-7", stdin="n\n")
    assert declined.returncode == 1 and _json(
        hub_cli(home, "customers", "find", "--email", email, "--json")
    )
    forgot = hub_cli(home, "customers", "forget", str(p3["id"]), "--reason", "DSR-7", "--yes")
    assert forgot.returncode == 0, forgot.stderr
    assert "records shredded: 3 case, 1 customer" in forgot.stdout  # p3's: c3, c33, c63
    assert "propagate the erasure to the source system: mem person p3" in forgot.stdout
    assert email not in forgot.stdout + forgot.stderr

    shown = hub_cli(home, "customers", "show", str(p3["id"]), "--reveal", "emails",
                    "--purpose", "check")  # fmt: skip
    assert shown.returncode == 1 and "forgotten on" in shown.stderr
    assert _json(hub_cli(home, "customers", "find", "--email", email, "--json")) == []
    again = hub_cli(home, "customers", "forget", str(p3["id"]), "--reason", "DSR-7", "--yes")
    assert again.returncode == 0 and "already forgotten on" in again.stdout
    checked = hub_cli(home, "check")
    assert checked.returncode == 0 and "erased on purpose" in checked.stdout
    resynced = {r["stream"]: r for r in _json(hub_cli(home, "sync", "mem", "--full-refresh",
                                                      "--json"))}  # fmt: skip
    assert resynced["people"]["records_erased"] == 1
    assert resynced["people"]["records_written"] == 0 == synced["people"]["records_erased"]
