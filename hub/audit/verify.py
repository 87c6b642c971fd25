"""Verifying the stored trail against its signed checkpoints and, optionally, one an auditor
kept: the same algorithm as the offline verifier, run on the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit.checkpoints import all_checkpoints
from hub.audit.offline_verify import TrailCheck, Verdict
from hub.audit.signing import Signer
from hub.audit.trail import head, pruned_subtrees, stored_entries
from hub.errors import AuditError


async def verify_stored_trail(
    conn: AsyncConnection, signer: Signer, kept: dict[str, Any] | None = None
) -> Verdict:
    """The first problem in the stored trail, or ok. ``kept``, a checkpoint exported earlier,
    must carry this hub's public key; the head row must agree with the entries."""
    checkpoints = await all_checkpoints(conn)
    if kept is not None:
        if kept.get("public_key") not in (None, signer.public_key_b64):
            return Verdict(False, 0, 0, "the kept checkpoint was signed by another key")
        checkpoints.append(kept)
    check = TrailCheck(checkpoints, signer.public_key)
    check.feed_pruned(await pruned_subtrees(conn))
    async for entry in stored_entries(conn):
        if not check.feed(entry):
            break
    verdict = check.finish()
    if not verdict.ok:
        return verdict
    try:
        current = await head(conn)
    except AuditError as exc:  # the head row disagrees with the entries it counts
        return Verdict(False, verdict.size, verdict.checked, str(exc), verdict.size + 1)
    if current.size != verdict.size:
        problem = f"the tree head says {current.size} entries but the trail holds {verdict.size}"
        return Verdict(
            False, verdict.size, verdict.checked, problem, min(current.size, verdict.size) + 1
        )
    return verdict
