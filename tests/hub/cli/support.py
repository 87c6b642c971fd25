"""What the CLI tests share: reading a command's answer, and a hub with a memory connection."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import Result

HubCli = Callable[..., Result]
GENERATE = {"people": 12, "cases": 20, "seed": 3}
TOKEN = "memory-token-41f0"  # made up for the tests


def ok_json(result: Result) -> Any:
    """The JSON a command printed, once it succeeded."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def one_line_error(result: Result, code: int = 1) -> str:
    """The one line a failed command printed on stderr (no traceback)."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def memory_hub(hub_cli: HubCli, name: str = "mem", **generate: Any) -> None:
    """An initialised hub with one memory connection ``name`` (token from a secret)."""
    assert hub_cli("init").exit_code == 0
    assert hub_cli("secrets", "set", "mem-token", input=TOKEN).exit_code == 0
    config = {**GENERATE, **generate}
    added = hub_cli(
        "connections", "add", name, "--connector", "memory", "--set", "token=secret:mem-token",
        "--set", f"generate={json.dumps(config)}", "--set", "page_size=5",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
