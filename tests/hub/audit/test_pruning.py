"""Retention prunes the audit trail's oldest entries, only up to a signed checkpoint, and what
is kept still verifies: the stored trail, inclusion proofs of kept entries, consistency from
a pruned checkpoint to the new head, and the offline verifier on an export."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

import hub.audit.offline_verify as offline
from hub.audit import Actor, AuditEntry, record
from hub.audit.access import record_action
from hub.audit.checkpoints import make_checkpoint
from hub.audit.offline_verify import leaf_hash, tree_root
from hub.audit.pruning import seal_prune
from hub.config import load_settings
from hub.errors import AuditError, ConfigError
from hub.retention.policy import RetentionSettings, describe_period
from hub.runtime import Hub
from hub.services.audit import (
    TrailFilter,
    archive_trail,
    export_trail,
    list_trail,
    prove_consistency,
    prove_inclusion,
    prune_trail,
    signer,
    verify,
)
from hub.services.retention import run_retention
from hub.store.schema import audit_entries, audit_pruned

BOB = Actor("bob", "admin", "test")
LONG_AGO = datetime(2024, 1, 10, tzinfo=UTC)  # past 12 months for as long as this suite lives


async def append(hub: Hub, count: int, *, at: datetime | None = None) -> None:
    async with hub.engine.begin() as conn:
        for i in range(count):
            await record(conn, AuditEntry(BOB, "connection.add", target_id=f"c{i}"), now=at)


async def signed(hub: Hub) -> dict[str, Any]:
    async with hub.engine.begin() as conn:
        return await make_checkpoint(conn, signer(hub))


async def stored_seqs(hub: Hub) -> list[int]:
    async with hub.engine.connect() as conn:
        return list(await conn.scalars(sa.select(audit_entries.c.seq).order_by("seq")))


def run_verifier(bundle: Path) -> subprocess.CompletedProcess[str]:
    """The offline verifier as an auditor runs it: a subprocess on the bundle file."""
    command = [sys.executable, offline.__file__, str(bundle)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture
async def pruned(hub: Hub) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two checkpoints over old entries (5 and 11), 3 old entries no checkpoint covers, 2
    recent ones; an archive of the old ones, then a retention run. Returns the two old
    checkpoints."""
    await append(hub, 5, at=LONG_AGO)
    first = await signed(hub)
    await append(hub, 6, at=LONG_AGO)
    second = await signed(hub)
    await append(hub, 3, at=LONG_AGO)
    await append(hub, 2)
    await archive_trail(hub, LONG_AGO + timedelta(days=1), io.StringIO())
    outcome = await run_retention(hub)
    assert {t.data_type: t.count for t in outcome.types}["audit_trail"] == 11
    return first, second


async def test_prunes_only_up_to_the_last_checkpoint_its_entries_are_old_enough_for(
    hub: Hub, pruned: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    seqs = await stored_seqs(hub)
    assert seqs[0] == 12  # the 3 old entries past the checkpoint at 11 are kept
    assert seqs[:5] == [12, 13, 14, 15, 16]
    with pytest.raises(AuditError, match="entry 3 was pruned"):
        await prove_inclusion(hub, 3)


async def test_the_prune_is_recorded_on_the_trail(
    hub: Hub, pruned: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    [entry] = await list_trail(hub, TrailFilter(action="audit.prune"))
    assert entry["detail"]["from"] == 1 and entry["detail"]["to"] == 11
    assert entry["role"] == "admin" and entry["target_type"] == "audit_trail"


async def test_the_trail_still_verifies_after_pruning(
    hub: Hub, pruned: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    verdict = await verify(hub)
    assert verdict.ok, verdict.problem
    assert verdict.checked >= 2  # the pruned checkpoints are checked through the subtrees


async def test_a_kept_checkpoint_inside_the_pruned_entries_must_be_one_the_hub_kept(
    hub: Hub, pruned: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    first, _ = pruned
    assert (await verify(hub, {**first, "public_key": signer(hub).public_key_b64})).ok
    # A head of size 3 (signed with the hub's key) that no stored checkpoint matches: the
    # prune kept no boundary there, so it cannot be checked and is not taken on trust.
    root = tree_root([leaf_hash(b"x")]).hex()
    at = first["at"]
    odd = {"size": 3, "root": root, "at": at, "signature": signer(hub).sign(3, root, at)}
    verdict = await verify(hub, odd)
    assert not verdict.ok and "falls inside the pruned entries" in verdict.problem


async def test_an_inclusion_proof_of_a_kept_entry_verifies(
    hub: Hub, pruned: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    for seq in (12, 14, 16):
        proof = await prove_inclusion(hub, seq)
        assert offline.check_inclusion(proof), seq


async def test_consistency_from_a_pruned_checkpoint_to_the_new_head_verifies(
    hub: Hub, pruned: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    for kept in pruned:
        proof = await prove_consistency(hub, kept["size"], kept["root"])
        assert offline.check_consistency(proof), kept["size"]
    with pytest.raises(AuditError, match="not a checkpoint"):
        await prove_consistency(hub, 3, pruned[0]["root"])


async def test_the_offline_verifier_accepts_an_export_after_pruning(
    hub: Hub, pruned: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    out = io.StringIO()
    await export_trail(hub, "bundle", out)
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_text(out.getvalue(), encoding="utf-8")
    run = run_verifier(bundle)
    assert run.returncode == 0, run.stdout + run.stderr
    # A forged subtree root is caught by the checkpoints that reach it.
    lines = out.getvalue().splitlines()
    forged = lines[0].replace(lines[0].split('"hash": "')[1][:8], "00000000", 1)
    bundle.write_text("\n".join([forged, *lines[1:]]) + "\n", encoding="utf-8")
    assert not offline.check_bundle(str(bundle)).ok


async def test_a_second_run_prunes_nothing_more_until_a_checkpoint_covers_old_entries(
    hub: Hub, pruned: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    again = await run_retention(hub)
    assert {t.data_type: t.count for t in again.types}["audit_trail"] == 0
    assert (await verify(hub)).ok


async def test_a_prune_stopped_before_deleting_its_rows_hides_them_and_the_next_finishes(
    hub: Hub,
) -> None:
    await append(hub, 6, at=LONG_AGO)
    await signed(hub)
    await append(hub, 2)

    async def record_prune(conn: AsyncConnection, detail: dict[str, object]) -> int:
        return await record_action(hub, conn, "audit.prune", detail=detail)

    async with hub.engine.begin() as conn:  # what commits before the batches of deletes
        plan = await seal_prune(
            conn, signer(hub), datetime.now(UTC) - timedelta(days=400), record_prune
        )
    assert (plan.after, plan.up_to) == (0, 6) and (await stored_seqs(hub))[0] == 1
    assert (await verify(hub)).ok
    listed = await list_trail(hub, TrailFilter(action="connection.add", everything=True))
    assert [e["seq"] for e in listed] == [8, 7]
    again = await run_retention(hub)
    assert {t.data_type: t.count for t in again.types}["audit_trail"] == 0
    assert (await stored_seqs(hub))[0] == 7


async def test_an_altered_entry_is_not_pruned_away(hub: Hub) -> None:
    await append(hub, 4, at=LONG_AGO)
    await signed(hub)
    async with hub.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE audit_entries SET action = 'x' WHERE seq = 2"))
    with pytest.raises(AuditError, match="not archived, it does not verify"):
        await archive_trail(hub, LONG_AGO + timedelta(days=1), io.StringIO())
    with pytest.raises(AuditError, match="not pruned"):
        await prune_trail(hub, LONG_AGO + timedelta(days=1), archived_only=False)
    assert (await stored_seqs(hub))[:4] == [1, 2, 3, 4]


async def test_list_searches_the_hot_last_3_months_unless_asked_for_all(hub: Hub) -> None:
    await append(hub, 1, at=datetime.now(UTC) - timedelta(days=120))
    await append(hub, 1)
    hot = await list_trail(hub, TrailFilter(action="connection.add"))
    everything = await list_trail(hub, TrailFilter(action="connection.add", everything=True))
    assert [e["seq"] for e in hot] == [2]
    assert [e["seq"] for e in everything] == [2, 1]


@pytest.mark.parametrize("period", ["11 months", "365 days", "52 weeks"])
def test_a_period_shorter_than_12_months_is_refused_naming_the_key(
    period: str, tmp_path: Path
) -> None:
    (tmp_path / "hub.toml").write_text(f'[retention]\naudit_trail = "{period}"\n')
    with pytest.raises(ConfigError, match=r"hub\.toml.*retention\.audit_trail.*minimum of 12"):
        load_settings(tmp_path / "hub.toml")


@pytest.mark.parametrize("period", ["12 months", "1 year", "366 days", "forever"])
def test_12_months_or_more_is_accepted(period: str) -> None:
    kept = RetentionSettings.model_validate({"audit_trail": period}).audit_trail
    assert describe_period(kept) == period


async def test_an_altered_pruned_subtree_root_is_named_with_its_stretch_not_entry_1(
    hub: Hub, pruned: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    # The stretch 6..11 (between the checkpoints at 5 and 11) is kept as the roots of
    # entries 6, 7..8, 9..10 and 11; one of them is altered.
    async with hub.engine.begin() as conn:
        await conn.execute(
            sa.update(audit_pruned).where(audit_pruned.c.start == 8).values(hash="00" * 32)
        )
    verdict = await verify(hub)
    assert not verdict.ok and verdict.first_bad_seq == 6
    assert verdict.pruned_range == (6, 11)
    assert verdict.pruned_subtrees == ((5, 1), (6, 2), (8, 2), (10, 1))
    assert "pruned entries 6..11" in verdict.problem and "entries 9..10" in verdict.problem
    # The offline verifier names the same place in an export.
    out = io.StringIO()
    await export_trail(hub, "bundle", out)
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_text(out.getvalue(), encoding="utf-8")
    offline_verdict = offline.check_bundle(str(bundle))
    assert (offline_verdict.first_bad_seq, offline_verdict.pruned_range) == (6, (6, 11))


async def test_an_altered_first_pruned_stretch_is_named_from_entry_1(
    hub: Hub, pruned: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    async with hub.engine.begin() as conn:
        await conn.execute(
            sa.update(audit_pruned).where(audit_pruned.c.start == 4).values(hash="00" * 32)
        )
    verdict = await verify(hub)
    assert not verdict.ok and verdict.pruned_range == (1, 5)
    assert "a kept subtree root of entries 1..4, entry 5 was altered" in verdict.problem
