"""Usage slips: a bad --email, and what --help shows."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer

from hub.cli import app
from hub.testing import MemorySource
from tests.hub.cli.support import GENERATE, HubCli, memory_hub, ok_json, one_line_error
from tests.support import hub_env


def test_a_bad_email_for_customers_find_is_a_usage_error_in_one_message(hub_cli: HubCli) -> None:
    memory_hub(hub_cli)
    assert hub_cli("sync", "mem", "--stream", "people").exit_code == 0
    refused = hub_cli("customers", "find", "--email", "ana.example.com")
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    errors = [line for line in refused.stderr.splitlines() if "Error" in line]
    assert errors == [
        "Error: Invalid value for '--email': 'ana.example.com' is not an email address"
    ]
    email = MemorySource.generated(**GENERATE).latest("people")["p2"]["email"]
    assert [
        r["kind"] for r in ok_json(hub_cli("customers", "find", "--email", email, "--json"))
    ] == ["customer"]


def test_connections_add_refuses_a_bad_email_naming_the_field_and_adds_nothing(
    hub_cli: HubCli,
) -> None:
    assert hub_cli("init").exit_code == 0
    add = ("connections", "add", "mem", "--connector", "memory", "--set", "generate={}")
    line = one_line_error(hub_cli(*add, "--set", "email=ops.acme.example"))
    assert "connection 'mem' (memory): email:" in line and "not a valid email address" in line
    assert "ops.acme.example" not in line  # a login is personal: not echoed
    assert ok_json(hub_cli("connections", "list", "--json")) == []
    assert hub_cli(*add, "--set", "email=ops@acme.example.com").exit_code == 0


def _commands(group: typer.Typer) -> Iterator[list[str]]:
    command = typer.main.get_command(group)
    yield from _paths(command, [])


def _paths(command: object, path: list[str]) -> Iterator[list[str]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _paths(sub, [*path, name])


@pytest.mark.parametrize("path", list(_commands(app)), ids=lambda p: " ".join(p) or "hub")
def test_help_shows_no_bool_placeholder_on_flags_and_names_the_global_flags(
    hub_cli: HubCli, path: list[str]
) -> None:
    shown = hub_cli(*path, "--help")
    assert shown.exit_code == 0
    assert "<bool>" not in shown.stdout
    assert "Anywhere on the line: --json" in shown.stdout


def test_importing_the_cli_loads_no_engine_so_help_answers_at_once() -> None:
    heavy = ["sqlalchemy", "httpx", "cryptography", "pydantic", "rich", "asyncio", "alembic"]
    probe = f"import sys, hub.cli; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=hub_env(), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--help"],
        env=hub_env(), capture_output=True, text=True, check=False, timeout=10,
    )  # fmt: skip
    assert helped.returncode == 0 and "Usage: hub" in helped.stdout
