"""``hub bench audit``: audited reveals per second, and the time to verify a large trail.

Reveals go through the real service (`show_customer` with ``--reveal``): read the record,
the role check, the entry appended in the reveal's transaction, the values opened; one
after another, then by many tasks at once (their entries group-committed,
:mod:`hub.audit.reads`). The large
trail is appended in bulk (the bench's own shortcut, computing the same leaves and head as
:func:`hub.audit.record`), signed, then verified entry by entry as ``hub audit verify`` does.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit import Actor, AuditEntry
from hub.audit.checkpoints import make_checkpoint
from hub.audit.entry import entry_to_row, entry_values, iso
from hub.audit.merkle import inclusion_path
from hub.audit.offline_verify import canonical, leaf_hash
from hub.audit.trail import HEAD_ID, current_frontier, head, leaf_hashes
from hub.audit.verify import verify_stored_trail
from hub.config import Settings, write_default_config
from hub.runtime import Hub, utcnow
from hub.store.schema import audit_entries, audit_head, records
from hub.vault import create_master_key

BULK_BATCH = 10_000


async def bench_audit(
    *,
    reveals: int,
    verify_entries: int,
    database_url: str | None,
    prune_entries: int = 0,
    concurrency: int = 64,
) -> dict[str, Any]:
    """Figures as a dict; a temporary SQLite hub unless ``database_url`` (an empty database)."""
    with tempfile.TemporaryDirectory(prefix="hub-bench-audit-") as tmp:
        home = Path(tmp)
        url = database_url or f"sqlite:///{home}/hub.db"
        write_default_config(home / "hub.toml", {"database_url": url})
        create_master_key(home / "secrets" / "master.key")
        settings = Settings(home=home, database_url=url)
        async with Hub.open(settings, create=True) as hub:
            result: dict[str, Any] = {"database": hub.engine.dialect.name}
            if reveals:
                result["reveals"] = await _reveals(hub, reveals, concurrency)
            if verify_entries:
                result["verify"] = await _verify(hub, verify_entries)
            if prune_entries:
                result["prune"] = await _prune(hub, prune_entries)
        return result


async def _reveals(hub: Hub, count: int, concurrency: int) -> dict[str, Any]:
    """``count`` reveals one after another, then ``count`` more by ``concurrency`` tasks at
    once (as concurrent API requests would), each task revealing one after another."""
    from hub.plugins import register_plugin, unregister_plugin
    from hub.services.customers import show_customer
    from hub.services.sandboxes import connect_sandbox
    from hub.services.syncing import sync
    from hub.testing import MemorySource, memory, register_source

    register_plugin(memory, name="hub-bench-memory")
    try:
        register_source("bench", MemorySource.generated(people=20, cases=0))
        await connect_sandbox(hub, "mem", "memory", {"source": "bench", "page_size": 20})
        await sync(hub, "mem", streams=["people"])
        async with hub.engine.connect() as conn:
            query = sa.select(records.c.id).where(records.c.kind == "customer")
            ids = [int(i) for (i,) in await conn.execute(query)]
        hub.actor = Actor("bench-agent", "agent", "bench")

        async def reveal_some(task: int, how_many: int) -> None:
            for i in range(how_many):
                record_id = ids[(task + i) % len(ids)]
                await show_customer(hub, record_id, reveal=["emails"], purpose="bench")

        started = time.perf_counter()
        await reveal_some(0, count)
        sequential = time.perf_counter() - started
        shares = [count // concurrency + (t < count % concurrency) for t in range(concurrency)]
        batches = hub.audited_reads.batches
        started = time.perf_counter()
        await asyncio.gather(*(reveal_some(t, n) for t, n in enumerate(shares) if n))
        concurrent = time.perf_counter() - started
        batches = hub.audited_reads.batches - batches
    finally:
        unregister_plugin(memory)
    return {
        "reveals": count,
        "sequential": {"seconds": round(sequential, 2), "per_second": round(count / sequential)},
        "concurrent": {
            "tasks": concurrency,
            "seconds": round(concurrent, 2),
            "per_second": round(count / concurrent),
            "batches": batches,
            "reveals_per_batch": round(count / max(batches, 1), 1),
        },
    }


async def _bulk_append(conn: AsyncConnection, count: int, *, at: datetime | None = None) -> None:
    """``count`` entries appended in large batches, with the leaves and head record() gives."""
    frontier = await current_frontier(conn)
    actor = Actor("bench-agent", "agent", "bench")
    written = iso(at or utcnow())
    batch: list[dict[str, Any]] = []
    for i in range(count):
        entry = AuditEntry(
            actor,
            "customer.reveal",
            target_type="record",
            target_id=str(i),
            customer=f"{i:032x}",
            fields=("emails",),
            purpose="bench",
        )
        values = entry_values(entry, frontier.size + 1, written)
        leaf = leaf_hash(canonical(values))
        frontier.append(leaf)
        batch.append({**entry_to_row(values), "leaf_hash": leaf.hex()})
        if len(batch) == BULK_BATCH or i == count - 1:
            await conn.execute(sa.insert(audit_entries), batch)
            batch = []
    frontier_json = json.dumps([h.hex() for h in frontier.hashes])
    await conn.execute(
        sa.update(audit_head)
        .where(audit_head.c.id == HEAD_ID)
        .values(size=frontier.size, frontier_size=frontier.size, frontier=frontier_json)
    )


async def _verify(hub: Hub, count: int) -> dict[str, Any]:
    from hub.services.audit import signer

    async with hub.engine.begin() as conn:
        await _bulk_append(conn, count)
        await make_checkpoint(conn, signer(hub))
    started = time.perf_counter()
    async with hub.engine.connect() as conn:
        verdict = await verify_stored_trail(conn, signer(hub))
    verify_seconds = time.perf_counter() - started
    started = time.perf_counter()
    async with hub.engine.connect() as conn:
        size = (await head(conn)).size
        leaves = await leaf_hashes(conn, size)
    path = inclusion_path(size // 2, leaves)
    prove_seconds = time.perf_counter() - started
    return {
        "entries": size,
        "ok": verdict.ok,
        "verify_seconds": round(verify_seconds, 1),
        "entries_verified_per_second": round(size / verify_seconds),
        "inclusion_proof_hashes": len(path),
        "inclusion_proof_bytes": 32 * len(path),
        "prove_seconds": round(prove_seconds, 1),
    }


async def _prune(hub: Hub, count: int) -> dict[str, Any]:
    """``count`` entries two years old, a checkpoint every 1,000 as the running hub makes
    them, and a few recent ones (on top of what the trail holds); then the timed archive
    (``hub audit export --before``) and prune, and the checks that what is kept still
    verifies."""
    from hub.audit.offline_verify import check_inclusion
    from hub.services.audit import archive_trail, prove_inclusion, prune_trail, signer, verify

    old = utcnow() - timedelta(days=730)
    for done in range(0, count, 1_000):
        async with hub.engine.begin() as conn:
            await _bulk_append(conn, min(1_000, count - done), at=old)
            await make_checkpoint(conn, signer(hub))
    async with hub.engine.begin() as conn:
        await _bulk_append(conn, 10)
        size = (await make_checkpoint(conn, signer(hub)))["size"]
    cutoff = utcnow() - timedelta(days=366)
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        archived = await archive_trail(hub, cutoff, out)  # what archive_before_prune needs
    archive_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pruned = await prune_trail(hub, cutoff)
    seconds = time.perf_counter() - started
    verdict = await verify(hub)
    proof = await prove_inclusion(hub, int(size))
    return {
        "entries_archived": archived["entries"],
        "archive_seconds": round(archive_seconds, 2),
        "entries_pruned": pruned,
        "seconds": round(seconds, 2),
        "pruned_per_second": round(pruned / seconds),
        "verify_ok_after": verdict.ok,
        "checkpoints_checked_after": verdict.checked,
        "inclusion_proof_ok_after": check_inclusion(proof),
    }
