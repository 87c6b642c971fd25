"""`hub connector new`: the package it writes, the names it refuses, and (slow) that the package
installs, passes the contract suite against its own sandbox and syncs through the CLI."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import hub
from hub.cli import app
from hub.errors import ConfigError
from hub.services.scaffold import new_connector


def test_writes_an_installable_package_with_the_hub_entry_point(tmp_path: Path) -> None:
    package = new_connector("acme_crm", tmp_path)

    assert package.root == tmp_path / "acme_crm"
    assert package.distribution == "hub-connector-acme-crm"
    for file in ("config.py", "connector.py", "sandbox.py", "plugin.py", "py.typed"):
        assert (package.root / "hub_acme_crm" / file).is_file(), file
    assert (package.root / "hub_acme_crm/mappings/acme_crm.yaml").is_file()
    assert (package.root / "tests/test_contract.py").is_file()
    project = tomllib.loads((package.root / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["hub"] == {"acme_crm": "hub_acme_crm.plugin"}
    assert "hub" in project["project"]["dependencies"]
    assert {"pytest>=8", "pytest-asyncio>=0.23"} <= set(
        project["project"]["optional-dependencies"]["dev"]
    )
    leftovers = [f for f in package.files if "${" in (package.root / f).read_text()]
    assert leftovers == [], f"placeholders left in {leftovers}"


def test_refuses_to_overwrite_an_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "notes.txt").write_text("mine")

    with pytest.raises(ConfigError, match="already exists"):
        new_connector("acme", tmp_path)
    assert [p.name for p in (tmp_path / "acme").iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["acme"], "a staging folder was left behind"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("Acme", "lower case only ('acme')"),
        ("2fast", "start with a letter"),
        ("acme-crm", "not '-'"),
        ("acme__crm", "underscores may only join words"),
        ("acme_", "underscores may only join words"),
        ("import", "Python keyword"),
        ("a" * 33, "longer than 32"),
        ("zendesk", "already installed"),
    ],
)
def test_names_that_cannot_name_a_connector_are_refused_saying_why(
    tmp_path: Path, name: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match="connector") as caught:
        new_connector(name, tmp_path)
    assert problem in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_the_package_and_exits_1_with_one_line_on_a_bad_name(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["connector", "new", "acme", "--dir", str(tmp_path)])
    assert made.exit_code == 0, made.output
    assert "hub-connector-acme" in made.output and "pip install -e" in made.output
    assert (tmp_path / "acme" / "pyproject.toml").is_file()

    refused = runner.invoke(app, ["connector", "new", "Acme", "--dir", str(tmp_path)])
    assert refused.exit_code == 1
    assert "lower case" in refused.output


# -- the generated package, installed into this environment ------------------------------------

NAME = "scaffolded"
DIST = f"hub-connector-{NAME}"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}


def _run(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 120,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        list(args), cwd=cwd, env=env or _env(), input=stdin, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def _hub(python: str, home: Path, *args: str, stdin: str | None = None
         ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return _run(python, "-m", "hub.cli", *args, cwd=home, stdin=stdin)


def _can_build_offline() -> bool:
    """Whether setuptools can build an editable wheel without fetching build requirements."""
    setuptools_major = int(metadata.version("setuptools").split(".")[0])
    return importlib.util.find_spec("wheel") is not None or setuptools_major >= 71


@dataclass(frozen=True)
class Installed:
    root: Path
    python: str


def _private_venv(where: Path) -> str:
    """A venv that sees this environment's packages (through a .pth file that adds its
    site-packages, editable installs included) but installs into its own: tests running in
    parallel never see the scaffolded package half-installed."""
    _run(sys.executable, "-m", "venv", "--without-pip", str(where), cwd=where.parent)
    [site_packages] = where.glob("lib/python*/site-packages")
    ours = sysconfig.get_paths()["purelib"]
    (site_packages / "_hub_parent_env.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return str(where / "bin" / "python")


@pytest.fixture
def installed(tmp_path: Path) -> Installed:
    """The scaffolded package, ``pip install -e``'d into a private venv."""
    root = new_connector(NAME, tmp_path / "src").root
    python = _private_venv(tmp_path / "venv")
    isolation = ["--no-build-isolation"] if _can_build_offline() else []
    done = _run(python, "-m", "pip", "install", "--no-deps", *isolation, "-e", str(root),
                cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert DIST not in {d.metadata["Name"] for d in metadata.distributions()}
    return Installed(root, python)


@contextlib.contextmanager
def _served_sandbox(python: str, home: Path) -> Iterator[dict[str, Any]]:
    """`hub sandbox serve NAME` in its own process; its first stdout line describes it."""
    args = ["sandbox", "serve", NAME, "--records", "120", "--seed", "5",
            "--option", "relaxed_limits=true"]  # fmt: skip
    proc = subprocess.Popen(
        [python, "-m", "hub.cli", *args], cwd=home, env=_env(),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, f"hub sandbox serve {NAME} exited with {proc.wait(timeout=10)}"
        yield dict(json.loads(line))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def _mypy_env() -> dict[str, str]:
    """mypy cannot follow setuptools' editable-install import hook: in a source checkout of
    the hub, point it at the checkout."""
    checkout = Path(hub.__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return {**_env(), "MYPYPATH": str(checkout)}
    return _env()


@pytest.mark.slow
def test_generated_package_lints_installs_passes_its_contract_and_syncs_via_the_cli(
    installed: Installed, tmp_path: Path
) -> None:
    root, python = installed.root, installed.python
    for check in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        linted = _run(python, "-m", *check, cwd=root)
        assert linted.returncode == 0, linted.stdout[-3000:]
    typed = _run(python, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy"), cwd=root,
                 env=_mypy_env())  # fmt: skip
    assert typed.returncode == 0, typed.stdout[-3000:]

    home = tmp_path / "home"
    home.mkdir()
    listed = _hub(python, home, "connector", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {c["name"]: c["streams"] for c in json.loads(listed.stdout)}[NAME] == ["contacts"]

    tested = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=root)
    assert tested.returncode == 0, tested.stdout[-4000:]
    assert " passed" in tested.stdout and "failed" not in tested.stdout

    with _served_sandbox(python, home) as sandbox:
        assert _hub(python, home, "init").returncode == 0
        token = sandbox["credentials"]["token"]
        stored = _hub(python, home, "secrets", "set", f"{NAME}-token", stdin=token + "\n")
        assert stored.returncode == 0, stored.stderr
        added = _hub(
            python, home, "connections", "add", NAME, "--connector", NAME,
            "--set", f"base_url={sandbox['base_url']}", "--set", f"token=secret:{NAME}-token",
            "--set", "requests_per_minute=1000000",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert _hub(python, home, "connections", "test", NAME).returncode == 0
        first = _hub(python, home, "sync", NAME, "--json")
        second = _hub(python, home, "sync", NAME, "--json")
    assert first.returncode == 0, first.stderr
    [contacts] = json.loads(first.stdout)
    assert contacts["stream"] == "contacts" and contacts["status"] == "succeeded"
    assert contacts["records_written"] > 0
    assert second.returncode == 0, second.stderr
    [again] = json.loads(second.stdout)
    assert again["records_written"] == 0, "the second sync should be incremental"
    assert token not in first.stdout + first.stderr + second.stdout + second.stderr
