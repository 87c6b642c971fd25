"""The trail: numbered entries in one RFC 9162 tree, written in the action's transaction,
checked against signed checkpoints; tampering is found and the first bad entry named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit import Actor, AuditEntry, head, record
from hub.audit.checkpoints import make_checkpoint
from hub.audit.offline_verify import Verdict, canonical, leaf_hash, tree_root
from hub.audit.signing import load_signer
from hub.audit.trail import entry_at, stored_entries
from hub.audit.verify import verify_stored_trail
from hub.errors import AuditError
from hub.runtime import Hub
from hub.services.audit import signer
from hub.store.schema import audit_entries

ALICE = Actor("alice", "agent", "cli:tester@box")


async def append(hub: Hub, count: int, *, action: str = "customer.reveal") -> list[int]:
    seqs = []
    async with hub.engine.begin() as conn:
        for i in range(count):
            entry = AuditEntry(
                ALICE,
                action,
                target_type="record",
                target_id=str(i),
                fields=("emails",),
                purpose="ticket 42",
            )
            seqs.append(await record(conn, entry))
    return seqs


async def signed(hub: Hub) -> dict[str, Any]:
    async with hub.engine.begin() as conn:
        return await make_checkpoint(conn, signer(hub))


async def verdict(hub: Hub, kept: dict[str, Any] | None = None) -> Verdict:
    async with hub.engine.connect() as conn:
        return await verify_stored_trail(conn, signer(hub), kept)


async def test_entries_are_numbered_from_one_and_the_head_is_their_tree(hub: Hub) -> None:
    assert await append(hub, 5) == [1, 2, 3, 4, 5]
    async with hub.engine.connect() as conn:
        entries = [e async for e in stored_entries(conn)]
        now = await head(conn)
    assert now.size == 5
    assert now.root == tree_root(leaf_hash(canonical(e)) for e in entries).hex()
    assert all(e["leaf_hash"] == leaf_hash(canonical(e)).hex() for e in entries)
    assert entries[0]["fields"] == ["emails"] and entries[0]["principal"] == "alice"


async def test_a_purpose_holding_an_email_is_stored_masked(hub: Hub) -> None:
    async with hub.engine.begin() as conn:
        await record(conn, AuditEntry(ALICE, "customer.reveal", purpose="ana@example.com asked"))
    async with hub.engine.connect() as conn:
        [entry] = [e async for e in stored_entries(conn)]
    assert "ana@example.com" not in str(entry["purpose"])


async def test_an_untouched_trail_verifies_against_its_checkpoints(hub: Hub) -> None:
    await append(hub, 3)
    kept = await signed(hub)
    await append(hub, 4)
    await signed(hub)
    result = await verdict(hub, kept)
    assert result.ok and result.size == 7 and result.checked == 3  # two stored + the kept one


async def tamper(hub: Hub, statement: str) -> None:
    async with hub.engine.begin() as conn:
        await conn.execute(sa.text(statement))


async def _kept_after(hub: Hub, count: int) -> dict[str, Any]:
    await append(hub, count)
    return await signed(hub)


async def test_a_changed_field_is_named(hub: Hub) -> None:
    kept = await _kept_after(hub, 6)
    await tamper(hub, "UPDATE audit_entries SET purpose = 'nothing to see' WHERE seq = 4")
    result = await verdict(hub, kept)
    assert not result.ok and result.first_bad_seq == 4


async def test_a_changed_field_with_its_leaf_hash_recomputed_fails_the_kept_checkpoint(
    hub: Hub,
) -> None:
    kept = await _kept_after(hub, 6)
    async with hub.engine.begin() as conn:
        await _rewrite_entry(conn, 4, principal="mallory")
    result = await verdict(hub, kept)
    assert not result.ok and result.first_bad_seq == 1  # the first entry not covered by a good one
    assert "root signed at size 6" in result.problem


async def _rewrite_entry(conn: AsyncConnection, seq: int, **changes: str) -> None:
    entry = await entry_at(conn, seq)
    entry.update(changes)
    values = {**changes, "leaf_hash": leaf_hash(canonical(entry)).hex()}
    await conn.execute(sa.update(audit_entries).where(audit_entries.c.seq == seq).values(values))


async def test_a_deleted_entry_is_named(hub: Hub) -> None:
    kept = await _kept_after(hub, 6)
    await tamper(hub, "DELETE FROM audit_entries WHERE seq = 3")
    result = await verdict(hub, kept)
    assert not result.ok and result.first_bad_seq == 3


async def test_an_inserted_entry_is_named(hub: Hub) -> None:
    kept = await _kept_after(hub, 6)
    async with hub.engine.begin() as conn:
        # Make room at 3 by renumbering the later entries, then copy entry 2 into the gap.
        for seq in range(6, 2, -1):
            await conn.execute(
                sa.update(audit_entries).where(audit_entries.c.seq == seq).values(seq=seq + 1)
            )
        row = (await conn.execute(sa.select(audit_entries).where(audit_entries.c.seq == 2))).one()
        await conn.execute(sa.insert(audit_entries).values({**row._mapping, "seq": 3}))
    result = await verdict(hub, kept)
    assert not result.ok and result.first_bad_seq == 3


async def test_two_swapped_entries_are_named(hub: Hub) -> None:
    kept = await _kept_after(hub, 6)
    async with hub.engine.begin() as conn:
        chosen = sa.select(audit_entries).where(audit_entries.c.seq.in_([2, 5]))
        rows = {r.seq: dict(r._mapping) for r in await conn.execute(chosen)}
        for seq, other in ((2, 5), (5, 2)):
            swapped = {k: v for k, v in rows[other].items() if k != "seq"}
            where = audit_entries.c.seq == seq
            await conn.execute(sa.update(audit_entries).where(where).values(swapped))
    result = await verdict(hub, kept)
    assert not result.ok and result.first_bad_seq == 2


async def test_a_truncated_tail_is_named(hub: Hub) -> None:
    kept = await _kept_after(hub, 6)
    await tamper(hub, "DELETE FROM audit_entries WHERE seq > 4")
    await tamper(hub, "DELETE FROM audit_checkpoints")  # the attacker hides the stored ones too
    await tamper(hub, "UPDATE audit_head SET size = 4")
    result = await verdict(hub, kept)
    assert not result.ok and result.first_bad_seq == 5
    assert "removed" in result.problem


async def test_a_rewritten_trail_signed_with_another_key_is_rejected(
    hub: Hub, tmp_path: Path
) -> None:
    await _kept_after(hub, 4)
    forger = load_signer(tmp_path / "forged.key")
    async with hub.engine.begin() as conn:
        await _rewrite_entry(conn, 2, action="nothing.happened")
        await conn.execute(sa.text("DELETE FROM audit_checkpoints"))
        # Recompute the head from the rewritten entries and sign it with the forger's key.
        entries = [e async for e in stored_entries(conn)]
        root = tree_root(leaf_hash(canonical(e)) for e in entries).hex()
        await conn.execute(
            sa.text(
                "INSERT INTO audit_checkpoints (size, root, at, signature) VALUES (:s, :r, :a, :g)"
            ),
            {
                "s": 4,
                "r": root,
                "a": "2026-12-02T00:00:00.000000Z",
                "g": forger.sign(4, root, "2026-12-02T00:00:00.000000Z"),
            },
        )
    result = await verdict(hub)
    assert not result.ok and "not signed" in result.problem


async def test_an_action_rolls_back_when_its_entry_cannot_be_written(hub: Hub) -> None:
    from hub.services.secrets import list_secrets, set_secret

    await tamper(hub, "ALTER TABLE audit_entries RENAME TO audit_entries_gone")
    with pytest.raises(sa.exc.DBAPIError):
        await set_secret(hub, "zd_token", "s3cret-value")
    await tamper(hub, "ALTER TABLE audit_entries_gone RENAME TO audit_entries")
    assert await list_secrets(hub) == []
    async with hub.engine.connect() as conn:
        assert (await head(conn)).size == 0


async def test_a_replaced_signing_key_signs_nothing_over_the_old_checkpoints(
    hub: Hub, tmp_path: Path
) -> None:
    await _kept_after(hub, 2)
    stranger = load_signer(tmp_path / "new.key")
    async with hub.engine.begin() as conn:
        with pytest.raises(AuditError, match="restore the original audit_key_file"):
            await make_checkpoint(conn, stranger)


async def test_a_checkpoint_is_due_after_enough_entries_or_a_minute_of_unsigned_ones(
    hub: Hub,
) -> None:
    from datetime import UTC, datetime, timedelta

    from hub.audit.checkpoints import checkpoint_due
    from hub.services.audit import checkpoint_if_due

    await append(hub, 3)
    assert await checkpoint_if_due(hub, every_entries=4, every_seconds=None) is None
    made = await checkpoint_if_due(hub, every_entries=3, every_seconds=None)
    assert made is not None and made["size"] == 3
    await append(hub, 1)
    async with hub.engine.connect() as conn:
        assert not await checkpoint_due(conn, every_entries=1000, every_seconds=60)
        later = datetime.now(UTC) + timedelta(seconds=61)
        assert await checkpoint_due(conn, every_entries=1000, every_seconds=60, now=later)
