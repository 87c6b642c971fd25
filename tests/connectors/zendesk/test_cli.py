"""The `hub` command as an operator uses it with Zendesk: real subprocesses against the Zendesk
sandbox (`hub sandbox serve zendesk`), the demo, and a Zendesk that cannot be reached: a
refused port or an unknown host."""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.plugins import connectors as installed_connectors
from hub.plugins import sandboxes
from tests.support import hub_env, run_hub

pytestmark = pytest.mark.slow


def hub_cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_hub(*args, cwd=home, stdin=stdin)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[dict[str, Any]]:
    """`hub sandbox serve zendesk` in its own process; its first stdout line describes it."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "sandbox",
            "serve",
            "zendesk",
            "--records",
            "150",
            "--seed",
            "4",
            "--option",
            "relaxed_limits=true",
        ],
        env=hub_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    yield info
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)


def test_sandbox_serve_first_line_names_vendor_url_and_credentials(sandbox: dict[str, Any]) -> None:
    assert sandbox["vendor"] == "zendesk"
    assert sandbox["base_url"].startswith("http://127.0.0.1:")
    assert {"email", "api_token"} <= set(sandbox["credentials"])


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_sandbox_serve_tls_removes_its_temporary_ca_files_on_sigterm_as_on_ctrl_c(
    sent: signal.Signals,
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "sandbox", "serve", "zendesk", "--tls", "--records", "5"],
        env=hub_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    ca_file = Path(json.loads(proc.stdout.readline())["ca_file"])
    assert ca_file.is_file()
    proc.send_signal(sent)
    _, stderr = proc.communicate(timeout=30)
    assert "Traceback" not in stderr
    assert not ca_file.parent.exists()  # the CA, its key and the server certificate


def test_operator_walkthrough_init_secret_connection_sync_find_quarantine(
    tmp_path: Path, sandbox: dict[str, Any]
) -> None:
    home = tmp_path
    init = hub_cli(home, "init")
    assert init.returncode == 0, init.stderr
    assert (home / "hub.toml").is_file()
    assert (home / "secrets" / "master.key").stat().st_mode & 0o777 == 0o600

    creds = sandbox["credentials"]
    literal = hub_cli(
        home,
        "connections",
        "add",
        "zd",
        "--connector",
        "zendesk",
        "--set",
        f"base_url={sandbox['base_url']}",
        "--set",
        f"email={creds['email']}",
        "--set",
        f"token={creds['api_token']}",
    )
    assert literal.returncode == 1 and "secret:NAME" in literal.stderr
    assert creds["api_token"] not in literal.stderr

    stored = hub_cli(home, "secrets", "set", "zd-token", stdin=creds["api_token"] + "\n")
    assert stored.returncode == 0, stored.stderr
    listed = hub_cli(home, "secrets", "list", "--json")
    assert [s["name"] for s in json.loads(listed.stdout)] == ["zd-token"]
    assert creds["api_token"] not in listed.stdout

    added = hub_cli(
        home,
        "connections",
        "add",
        "zd",
        "--connector",
        "zendesk",
        "--set",
        f"base_url={sandbox['base_url']}",
        "--set",
        "email=-",  # personal: read from stdin, so it is on no command line
        "--set",
        "token=secret:zd-token",
        "--set",
        "incremental_requests_per_minute=100000",
        stdin=creds["email"] + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert hub_cli(home, "connections", "test", "zd").returncode == 0

    synced = hub_cli(home, "sync", "zd", "--json")
    assert synced.returncode == 0, synced.stderr
    results = {r["stream"]: r for r in json.loads(synced.stdout)}
    assert set(results) == {
        "users",
        "organizations",
        "tickets",
        "ticket_metrics",
        "satisfaction_ratings",
    }
    assert results["users"]["records_written"] > 0, synced.stdout

    only_tickets = hub_cli(home, "sync", "zd", "--stream", "tickets", "--full-refresh", "--json")
    assert [r["stream"] for r in json.loads(only_tickets.stdout)] == ["tickets"]
    assert json.loads(only_tickets.stdout)[0]["records_written"] == 0

    email = _an_email(sandbox)
    found = hub_cli(home, "customers", "find", "--email", f"  {email.upper()} ", "--json")
    assert found.returncode == 0, found.stderr
    assert [r["kind"] for r in json.loads(found.stdout)] == ["customer"]
    assert email not in found.stdout  # the answer carries ids, not personal data

    quarantined = json.loads(hub_cli(home, "quarantine", "list", "--json").stdout)
    assert quarantined and all(q["stream"] == "tickets" for q in quarantined)
    shown = hub_cli(home, "quarantine", "show", str(quarantined[0]["id"]), "--json")
    assert "payload_fields" in json.loads(shown.stdout)
    replay = json.loads(hub_cli(home, "quarantine", "replay", "--json").stdout)
    assert replay["still_invalid"] == len(quarantined)

    connectors = json.loads(hub_cli(home, "connector", "list", "--json").stdout)
    names = [c["name"] for c in connectors]
    assert "zendesk" in names and sorted(names) == sorted(installed_connectors())
    assert hub_cli(home, "connections", "remove", "zd").returncode == 0
    assert json.loads(hub_cli(home, "connections", "list", "--json").stdout) == []


def _an_email(sandbox: dict[str, Any]) -> str:
    """A valid end-user address held by exactly one user (the world also has shared ones)."""
    import httpx

    from hub.sandbox.world import SHARED_MAILBOXES
    from hub.vault import normalise_email

    creds = sandbox["credentials"]
    auth = (f"{creds['email']}/token", creds["api_token"])
    users = httpx.get(
        f"{sandbox['base_url']}/api/v2/incremental/users/cursor.json",
        params={"start_time": 0, "per_page": 200},
        auth=auth,
        timeout=10,
    ).json()["users"]
    holders = Counter(str(u["email"]).casefold() for u in users if u.get("email"))

    def usable(user: dict[str, Any]) -> bool:
        email = user.get("email")
        if user["role"] != "end-user" or not email or holders[email.casefold()] != 1:
            return False
        if email.partition("@")[0].casefold() in SHARED_MAILBOXES:  # others may hold it too
            return False
        try:
            normalise_email(email)
        except ValueError:
            return False
        return True

    return next(str(u["email"]) for u in users[:50] if usable(u))


README = Path(__file__).parents[3] / "README.md"


def test_demo_syncs_twice_leaves_a_working_hub_and_a_rerun_reuses_it(tmp_path: Path) -> None:
    first = hub_cli(tmp_path, "demo", "--dir", "demo", "--records", "300", "--json")
    assert first.returncode == 0, first.stderr[-3000:]
    outcome = json.loads(first.stdout)
    assert (outcome["hub"], outcome["rewritten"]) == ("created", 0)
    assert {r["status"] for r in outcome["first_sync"] + outcome["second_sync"]} == {"succeeded"}
    assert (tmp_path / "demo" / "hub.toml").is_file()
    listed = hub_cli(tmp_path / "demo", "connections", "list", "--json")
    # One connection per shipped sandbox, Zendesk's among them.
    names = [c["name"] for c in json.loads(listed.stdout)]
    assert {"zendesk", "salesforce"} <= set(names) and names == sorted(sandboxes())

    again = hub_cli(tmp_path, "demo", "--dir", "demo", "--records", "300")
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"found a hub in {tmp_path / 'demo'} (hub.toml); reusing it" in again.stdout
    assert "second sync re-wrote 0 record(s)" in again.stdout

    # The README's example address is one of the demo's customers (same seed; the first
    # 300 records of the default 2000 hold it).
    [example] = re.findall(r"hub customers find --email (\S+@\S+)", README.read_text())
    found = hub_cli(tmp_path / "demo", "customers", "find", "--email", example, "--json")
    assert found.returncode == 0, found.stderr
    assert "customer" in [r["kind"] for r in json.loads(found.stdout)]


def _hub_with_a_connection_to(home: Path, base_url: str, *settings: str) -> None:
    """A hub with one Zendesk connection, ``dead``, at ``base_url`` and default HTTP settings
    (8 attempts for transient errors); ``settings`` are more ``--set`` values."""
    assert hub_cli(home, "init").returncode == 0
    assert hub_cli(home, "secrets", "set", "t", stdin="not-a-real-token").returncode == 0
    added = hub_cli(
        home,
        "connections",
        "add",
        "dead",
        "--connector",
        "zendesk",
        "--set",
        f"base_url={base_url}",
        "--set",
        "email=ops@example.com",
        "--set",
        "token=secret:t",
        *(item for setting in settings for item in ("--set", setting)),
    )
    assert added.returncode == 0, added.stderr


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _attempts(verbose_stderr: str) -> int:
    """Requests the hub's own debug lines say were attempted."""
    return len(re.findall(r"hub\.http: GET \S+ -> ConnectError \(attempt \d+\)", verbose_stderr))


def test_sync_to_a_refused_port_fails_in_seconds_naming_the_address(tmp_path: Path) -> None:
    port = _closed_port()
    _hub_with_a_connection_to(tmp_path, f"http://127.0.0.1:{port}")
    reason = f"cannot connect to http://127.0.0.1:{port} (connection refused)"

    table = hub_cli(tmp_path, "sync", "dead")
    assert table.returncode == 1
    assert "Traceback" not in table.stdout + table.stderr
    assert "not-a-real-token" not in table.stdout + table.stderr
    assert "dead/tickets" in table.stdout and "skipped" in table.stdout

    verbose = hub_cli(tmp_path, "--verbose", "sync", "dead", "--json")
    assert verbose.returncode == 1
    results = json.loads(verbose.stdout)
    first, *rest = results
    assert first["status"] == "failed" and first["error"].endswith(reason)
    assert len(rest) == 4 and all(r["status"] == "skipped" and r["error"] == reason for r in rest)
    assert _attempts(verbose.stderr) == 2  # once per connection, with one short retry
    assert first["requests"] == 2  # a failed run counts the requests it sent, and stores them
    with sqlite3.connect(f"file:{tmp_path / 'data' / 'hub.db'}?mode=ro", uri=True) as db:
        stored = db.execute("SELECT status, requests FROM sync_runs ORDER BY id DESC").fetchone()
    assert tuple(stored) == ("failed", 2)

    assert hub_cli(tmp_path, "connections", "list").returncode == 0  # the hub still works


def test_connections_test_of_a_refused_port_fails_in_seconds_naming_the_address(
    tmp_path: Path,
) -> None:
    port = _closed_port()
    _hub_with_a_connection_to(tmp_path, f"http://127.0.0.1:{port}")
    out = hub_cli(tmp_path, "connections", "test", "dead")
    assert out.returncode == 1
    assert "Traceback" not in out.stdout + out.stderr
    assert out.stderr.strip() == (
        f"error: dead: cannot connect to http://127.0.0.1:{port} (connection refused)"
    )
    verbose = hub_cli(tmp_path, "--verbose", "connections", "test", "dead")
    assert _attempts(verbose.stderr) == 2


def test_connections_add_help_says_personal_fields_can_come_from_stdin(tmp_path: Path) -> None:
    shown = hub_cli(tmp_path, "connections", "add", "--help")

    assert shown.returncode == 0
    assert "--set email=-" in shown.stdout and "stdin" in shown.stdout


def test_connections_add_refuses_dash_for_a_field_that_is_not_personal(tmp_path: Path) -> None:
    assert hub_cli(tmp_path, "init").returncode == 0
    added = hub_cli(
        tmp_path, "connections", "add", "zd", "--connector", "zendesk",
        "--set", "base_url=-", "--set", "email=-", "--set", "token=secret:t",
        stdin="https://acme.zendesk.com\nops@example.com\n",
    )  # fmt: skip

    assert added.returncode == 1
    assert "error: base_url=- reads a value from a prompt or stdin" in added.stderr
    assert "zendesk: email" in added.stderr
    assert "ops@example.com" not in added.stderr
    assert "zd" not in hub_cli(tmp_path, "connections", "list").stdout


def test_connections_add_refuses_plain_http_to_another_host_naming_allow_insecure(
    tmp_path: Path,
) -> None:
    assert hub_cli(tmp_path, "init").returncode == 0
    assert hub_cli(tmp_path, "secrets", "set", "t", stdin="not-a-real-token").returncode == 0
    base = ["connections", "add", "zd", "--connector", "zendesk",
            "--set", "base_url=http://acme.example.test",
            "--set", "email=ops@example.com", "--set", "token=secret:t"]  # fmt: skip

    refused = hub_cli(tmp_path, *base)
    assert refused.returncode == 1
    assert "base_url uses plain http to acme.example.test" in refused.stderr
    assert "allow_insecure=true" in refused.stderr
    assert "zd" not in hub_cli(tmp_path, "connections", "list").stdout


def test_sync_and_test_of_an_unknown_host_say_the_host_is_unknown(tmp_path: Path) -> None:
    # Plain http to a host other than loopback is refused unless the connection allows it.
    _hub_with_a_connection_to(tmp_path, "http://no-such-host.invalid", "allow_insecure=true")
    reason = "cannot connect to http://no-such-host.invalid (unknown host)"
    tested = hub_cli(tmp_path, "connections", "test", "dead")
    assert tested.returncode == 1
    assert "Traceback" not in tested.stderr
    assert tested.stderr.strip() == f"error: dead: {reason}"
    synced = hub_cli(tmp_path, "sync", "dead", "--json")
    assert synced.returncode == 1
    assert [r["status"] for r in json.loads(synced.stdout)] == ["failed"] + ["skipped"] * 4
    assert all(r["error"].endswith(reason) for r in json.loads(synced.stdout))
    insecure = "connection dead: base_url uses plain http to no-such-host.invalid"
    assert synced.stderr.count(insecure) == 1  # the run says what allow_insecure lets through
