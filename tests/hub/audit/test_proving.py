"""`hub audit prove` and `hub audit consistency` as services: their proofs check with the
offline verifier's functions, and a kept head the trail no longer extends is refused."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from hub.audit import Actor, AuditEntry, record
from hub.audit.offline_verify import check_consistency, check_inclusion, checkpoint_signed
from hub.errors import AuditError
from hub.runtime import Hub
from hub.services.audit import checkpoint, prove_consistency, prove_inclusion

BOB = Actor("bob", "admin", "test")


async def append(hub: Hub, count: int) -> None:
    async with hub.engine.begin() as conn:
        for i in range(count):
            await record(conn, AuditEntry(BOB, "connection.add", target_id=f"c{i}"))


async def test_an_inclusion_proof_checks_against_its_signed_checkpoint(hub: Hub) -> None:
    await append(hub, 9)
    proof = await prove_inclusion(hub, 4)
    assert proof["entry"]["target_id"] == "c3" and proof["size"] == 10  # + the prove entry
    assert check_inclusion(proof)
    signed = proof["checkpoint"]
    assert checkpoint_signed(signed, base64.b64decode(signed["public_key"]))
    with pytest.raises(Exception, match="no entry 99"):
        await prove_inclusion(hub, 99)


async def test_a_consistency_proof_from_a_kept_head_checks(hub: Hub) -> None:
    await append(hub, 5)
    kept = await checkpoint(hub)
    await append(hub, 7)
    proof = await prove_consistency(hub, kept["size"], kept["root"])
    assert proof["old_size"] == 6 and proof["size"] == 14
    assert check_consistency(proof)


async def test_a_kept_head_the_trail_no_longer_extends_is_refused(hub: Hub) -> None:
    await append(hub, 5)
    kept = await checkpoint(hub)
    async with hub.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE audit_entries SET action = 'x' WHERE seq = 2"))
    with pytest.raises(AuditError, match="does not extend the kept head of 6"):
        await prove_consistency(hub, kept["size"], kept["root"])
