"""The ``hub`` command in this process (typer's runner), with the memory connector: an
operator's commands without a vendor and without the cost of a subprocess each."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hub.cli import app
from tests.hub.cli.support import HubCli


@pytest.fixture
def hub_cli(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    memory_plugin: None,
    restore_root_logging: None,
) -> Iterator[HubCli]:
    """``hub_cli(*args, input=None, env=None)`` runs ``hub ARGS`` in a fresh folder (the
    hub's home once ``init`` ran there), without the caller's HUB_* variables."""
    for name in [n for n in os.environ if n.startswith("HUB_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)

    yield invoke
