"""`hub init` is the only command that creates a hub, and it never replaces a master key:
real subprocesses of ``python -m hub.testing``, as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub.store.engine import display_url
from tests.support import hub_env, run_hub

pytestmark = pytest.mark.slow

SECRET = "made-up-token-5e1a"  # made up for the tests


def hub_cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_hub(*args, cwd=home, stdin=stdin, module="hub.testing")


def _refused(out: subprocess.CompletedProcess[str]) -> str:
    """The one-line error of a command that was refused (exit 1, no traceback)."""
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    return " ".join(out.stderr.split())  # rich may wrap a long line


def test_a_mistyped_database_path_is_refused_naming_it_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    assert hub_cli(tmp_path, "init").returncode == 0
    config = tmp_path / "hub.toml"
    good = config.read_text()
    config.write_text(good.replace("sqlite:///data/hub.db", "sqlite:///no/such/dir/hub.db"))

    message = _refused(hub_cli(tmp_path, "connections", "list"))

    assert str(tmp_path / "no" / "such" / "dir" / "hub.db") in message
    assert "hub init" in message
    assert not (tmp_path / "no").exists()
    config.write_text(good)  # the hub the operator had is untouched
    assert hub_cli(tmp_path, "connections", "list").returncode == 0


def test_a_database_never_initialised_is_refused_until_hub_init_sets_it_up(
    tmp_path: Path, database_url: str
) -> None:
    assert hub_cli(tmp_path, "init").returncode == 0
    config = tmp_path / "hub.toml"
    config.write_text(config.read_text().replace("sqlite:///data/hub.db", database_url))
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).touch()  # an empty file: no hub in it

    message = _refused(hub_cli(tmp_path, "secrets", "list"))

    assert display_url(database_url) in message and "never been initialised" in message
    assert "hub init" in message
    assert hub_cli(tmp_path, "init").returncode == 0
    assert hub_cli(tmp_path, "secrets", "list").returncode == 0


def test_init_writes_hub_database_url_into_hub_toml_and_prints_where_the_database_is(
    tmp_path: Path, database_url: str
) -> None:
    init = subprocess.run(
        [sys.executable, "-m", "hub.testing", "init"],
        cwd=tmp_path,
        env={**hub_env(), "HUB_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    assert f'database_url = "{database_url}"' in (tmp_path / "hub.toml").read_text()
    assert f"database ready at {display_url(database_url)}" in " ".join(init.stdout.split())
    # Without the variable, the next command opens that same database.
    assert hub_cli(tmp_path, "secrets", "set", "t", stdin=SECRET).returncode == 0
    assert "t" in hub_cli(tmp_path, "secrets", "list").stdout


def test_a_lost_master_key_is_never_replaced_and_the_error_says_to_restore_it(
    tmp_path: Path,
) -> None:
    assert hub_cli(tmp_path, "init").returncode == 0
    assert hub_cli(tmp_path, "secrets", "set", "t", stdin=SECRET).returncode == 0
    key_file = tmp_path / "secrets" / "master.key"
    key = key_file.read_bytes()
    key_file.unlink()

    missing = _refused(hub_cli(tmp_path, "secrets", "list"))
    assert "master key is missing" in missing and str(key_file) in missing
    assert "HUB_MASTER_KEY" in missing and "restore the original key from backup" in missing
    assert "hub init" not in missing
    again = _refused(hub_cli(tmp_path, "init"))
    assert "already holds data keys" in again and "restore the original key from backup" in again
    assert not key_file.exists()

    key_file.write_bytes(key)
    key_file.chmod(0o600)
    listed = hub_cli(tmp_path, "secrets", "list")
    assert listed.returncode == 0 and "t" in listed.stdout
    assert SECRET not in listed.stdout + missing + again
