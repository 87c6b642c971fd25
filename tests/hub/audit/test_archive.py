"""`hub audit export --before DATE`: an archive of the oldest entries that the offline
verifier checks on its own, recorded on the trail; retention prunes only what an archive
covers unless `archive_before_prune = false`."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import hub.audit.offline_verify as offline
from hub.audit import Actor, AuditEntry, record
from hub.audit.checkpoints import make_checkpoint
from hub.config import Settings, load_settings
from hub.errors import ConfigError
from hub.runtime import Hub
from hub.services.audit import TrailFilter, archive_trail, list_trail, signer, verify
from hub.services.retention import run_retention

BOB = Actor("bob", "admin", "test")
LONG_AGO = datetime(2024, 1, 10, tzinfo=UTC)
BEFORE = LONG_AGO + timedelta(days=1)


async def old_trail(hub: Hub) -> None:
    """Entries 1..5 and 6..11 two years old, each stretch signed; 2 recent entries."""
    for count in (5, 6):
        async with hub.engine.begin() as conn:
            for i in range(count):
                await record(
                    conn, AuditEntry(BOB, "connection.add", target_id=f"c{i}"), now=LONG_AGO
                )
            await make_checkpoint(conn, signer(hub))
    async with hub.engine.begin() as conn:
        for i in range(2):
            await record(conn, AuditEntry(BOB, "secret.set", target_id=f"s{i}"))


def audit_pruned(outcome: object) -> int:
    return {t.data_type: t.count for t in outcome.types}["audit_trail"]  # type: ignore[attr-defined]


def run_verifier(bundle: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, offline.__file__, str(bundle)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


async def archived(hub: Hub, path: Path) -> dict[str, object]:
    with path.open("w", encoding="utf-8") as out:
        return await archive_trail(hub, BEFORE, out)


async def test_archive_then_prune_the_archive_verifies_offline_and_the_rest_still_verifies(
    hub: Hub, tmp_path: Path
) -> None:
    await old_trail(hub)
    bundle = tmp_path / "archive.jsonl"
    made = await archived(hub, bundle)
    assert (made["from"], made["to"], made["entries"]) == (1, 11, 11)
    assert made["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert audit_pruned(await run_retention(hub)) == 11

    run = run_verifier(bundle)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = bundle.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in lines[1:]] == list(range(1, 12))
    verdict = await verify(hub)
    assert verdict.ok, verdict.problem
    [entry] = await list_trail(hub, TrailFilter(action="audit.archive"))
    assert entry["detail"] == made  # which archive covered which range, on the trail


async def test_a_second_archive_starts_after_the_pruned_part_and_verifies_alone(
    hub: Hub, tmp_path: Path
) -> None:
    await old_trail(hub)
    await archived(hub, tmp_path / "first.jsonl")
    await run_retention(hub)
    second = tmp_path / "second.jsonl"
    with second.open("w", encoding="utf-8") as out:
        made = await archive_trail(hub, datetime.now(UTC) + timedelta(days=1), out)
    assert made["from"] == 12 and int(str(made["to"])) > 12
    header = json.loads(second.read_text(encoding="utf-8").splitlines()[0])
    assert header["pruned"]  # the subtrees standing for 1..11 make it verify alone
    run = run_verifier(second)
    assert run.returncode == 0, run.stdout + run.stderr


async def test_an_archive_needs_old_entries_under_a_checkpoint(hub: Hub) -> None:
    with pytest.raises(ConfigError, match="--before 2024-01-11: no entries older"):
        await archive_trail(hub, BEFORE, io.StringIO())


async def test_retention_keeps_old_entries_no_archive_covers(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    await old_trail(hub)
    with caplog.at_level(logging.WARNING, logger="hub.services.audit"):
        assert audit_pruned(await run_retention(hub)) == 0
    assert "11 audit entries are past their retention but kept: no archive" in caplog.text
    assert audit_pruned(await run_retention(hub, dry_run=True)) == 0


async def test_archive_before_prune_false_prunes_without_an_archive(
    hub: Hub, hub_settings: Settings
) -> None:
    await old_trail(hub)
    config = hub_settings.home / "hub.toml"
    with config.open("a") as toml:
        toml.write("\n[retention]\narchive_before_prune = false\n")
    async with Hub.open(load_settings(config)) as unarchived:
        assert audit_pruned(await run_retention(unarchived)) == 11
        assert (await verify(unarchived)).ok


def rewrite(bundle: Path, change: object) -> Path:
    lines = [json.loads(line) for line in bundle.read_text(encoding="utf-8").splitlines()]
    change(lines)  # type: ignore[operator]
    out = bundle.with_name("tampered.jsonl")
    out.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return out


def alter_entry(lines: list[dict[str, object]]) -> None:
    lines[4]["target_id"] = "someone else"
    del lines[4]["leaf_hash"]  # as a careful forger would: no stored hash to contradict


def drop_last(lines: list[dict[str, object]]) -> None:
    lines.pop()


def forge_extension(lines: list[dict[str, object]]) -> None:
    extends = lines[0]["extends"]
    assert isinstance(extends, dict)
    extends["root"] = extends["checkpoint"]["root"] = "00" * 32


def claim_more(lines: list[dict[str, object]]) -> None:
    archive = lines[0]["archive"]
    assert isinstance(archive, dict)
    archive["to"] = 12


@pytest.mark.parametrize("tamper", [alter_entry, drop_last, forge_extension, claim_more])
async def test_a_tampered_archive_verifies_as_bad(hub: Hub, tmp_path: Path, tamper: object) -> None:
    await old_trail(hub)
    bundle = tmp_path / "archive.jsonl"
    await archived(hub, bundle)
    run = run_verifier(rewrite(bundle, tamper))
    assert run.returncode == 1 and "FAILED" in run.stdout, run.stdout + run.stderr
