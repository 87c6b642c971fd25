"""--json, --verbose and --traceback anywhere on the line, and --json on every command."""

from __future__ import annotations

import json

import pytest

from hub.services import connections
from tests.hub.cli.support import GENERATE, TOKEN, HubCli, memory_hub, ok_json, one_line_error


@pytest.mark.parametrize(
    "args",
    [
        ("--json", "sync", "mem"),
        ("sync", "mem", "--json"),
        ("sync", "--json", "mem"),
        ("-v", "sync", "mem", "--json"),
        ("sync", "mem", "--json", "--verbose"),
    ],
)
def test_json_and_verbose_work_before_or_after_the_subcommand(
    hub_cli: HubCli, args: tuple[str, ...]
) -> None:
    memory_hub(hub_cli)
    results = ok_json(hub_cli(*args))
    assert {(r["stream"], r["status"]) for r in results} == {
        ("people", "succeeded"),
        ("cases", "succeeded"),
    }
    assert ok_json(hub_cli("connections", "list", "--json"))[0]["name"] == "mem"


def test_every_command_answers_json_in_a_stable_shape(hub_cli: HubCli) -> None:
    done = ok_json(hub_cli("init", "--json"))
    assert set(done) == {"directory", "done"} and any("hub.toml" in d for d in done["done"])
    assert ok_json(hub_cli("secrets", "set", "mem-token", "--json", input=TOKEN)) == {
        "secret": "mem-token",
        "stored": True,
        "reference": "secret:mem-token",
    }
    generate = f"generate={json.dumps(GENERATE)}"
    added = hub_cli("connections", "add", "mem", "--connector", "memory", "--json",
                    "--set", "token=secret:mem-token", "--set", generate)  # fmt: skip
    assert ok_json(added) == {"connection": "mem", "connector": "memory", "added": True}
    assert ok_json(hub_cli("connections", "test", "mem", "--json")) == {
        "connection": "mem",
        "ok": True,
    }
    assert [s["name"] for s in ok_json(hub_cli("secrets", "list", "--json"))] == ["mem-token"]
    shown = ok_json(hub_cli("connector", "show", "memory", "--json"))
    assert set(shown) == {"name", "title", "streams", "fields"}
    assert ok_json(hub_cli("connections", "remove", "mem", "--json")) == {
        "connection": "mem",
        "removed": True,
    }
    assert ok_json(hub_cli("secrets", "remove", "mem-token", "--json")) == {
        "secret": "mem-token",
        "removed": True,
    }
    assert TOKEN not in hub_cli("secrets", "list", "--json").output


def test_a_failure_with_json_is_one_json_line_on_stderr(hub_cli: HubCli) -> None:
    assert hub_cli("init").exit_code == 0
    line = one_line_error(hub_cli("connections", "remove", "nope", "--json"))
    assert json.loads(line) == {"error": "no connection named 'nope'; see hub connections list"}
    assert ok_json(hub_cli("connections", "list", "--json")) == []


def test_verbose_shows_the_hubs_debug_lines_not_the_database_drivers(hub_cli: HubCli) -> None:
    memory_hub(hub_cli)
    synced = hub_cli("sync", "mem", "--stream", "people", "--verbose")
    assert synced.exit_code == 0, synced.output
    debug = [line for line in synced.stderr.splitlines() if " DEBUG " in line]
    assert any("hub.run: run " in line and "mem/people succeeded" in line for line in debug)
    assert all(": " in line and line.split()[3].startswith("hub.") for line in debug), debug
    for driver in ("sqlalchemy", "aiosqlite", "alembic", "httpcore", "asyncio"):
        assert f" {driver}" not in synced.stderr
    quiet = hub_cli("sync", "mem", "--stream", "people")
    assert quiet.exit_code == 0 and "DEBUG" not in quiet.stderr


def test_traceback_shows_the_stack_of_a_failure_which_is_otherwise_one_line(
    hub_cli: HubCli,
) -> None:
    assert hub_cli("init").exit_code == 0
    line = one_line_error(hub_cli("connections", "add", "x", "--connector", "nope"))
    assert "nope" in line and "connector" in line
    for args in (("--traceback", "connections", "add", "x", "--connector", "nope"),
                 ("connections", "add", "x", "--connector", "nope", "--traceback"),
                 ("connections", "add", "x", "--connector", "nope", "-v")):  # fmt: skip
        shown = hub_cli(*args)
        assert shown.exit_code == 1
        assert "Traceback (most recent call last)" in shown.stderr
        assert shown.stderr.rstrip().splitlines()[-1] == line
    assert ok_json(hub_cli("connections", "list", "--json")) == []


def test_an_unexpected_error_is_one_line_that_withholds_its_details(
    hub_cli: HubCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug's message may carry anything (a URL with a token): only its type is shown."""
    memory_hub(hub_cli)

    async def broken(*_: object) -> None:
        raise RuntimeError(f"boom with {TOKEN}")

    with monkeypatch.context() as patched:  # a bug no sandbox can cause
        patched.setattr(connections, "test_connection", broken)
        line = one_line_error(hub_cli("connections", "test", "mem"))
        assert "unexpected RuntimeError (details withheld" in line and "--traceback" in line
        assert TOKEN not in line
        assert "Traceback" in hub_cli("connections", "test", "mem", "--traceback").stderr
    assert ok_json(hub_cli("connections", "list", "--json"))[0]["name"] == "mem"
