"""Concurrent reveals share one transaction (group commit, hub/audit/reads.py): each still
gets its own entry in one valid tree, in one process and across processes on PostgreSQL,
and no value is released unless the batch holding its entry committed."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from typing import Any

import pytest
import sqlalchemy as sa

from hub.audit import Actor, head
from hub.audit.checkpoints import make_checkpoint
from hub.audit.trail import stored_entries
from hub.audit.verify import verify_stored_trail
from hub.config import Settings
from hub.errors import ConfigError
from hub.runtime import Hub
from hub.services.audit import signer
from hub.services.customers import show_customer
from hub.services.syncing import sync
from hub.store.schema import records
from hub.testing import MemorySource

AGENT = Actor("agent-1", "agent", "cli:tester@box")


async def customer_ids(hub: Hub) -> list[int]:
    await sync(hub, "mem")
    async with hub.engine.connect() as conn:
        query = sa.select(records.c.id).where(records.c.kind == "customer").order_by(records.c.id)
        return [int(i) for (i,) in await conn.execute(query)]


async def reveal(hub: Hub, record_id: int) -> list[str]:
    shown = await show_customer(hub, record_id, reveal=["emails"], purpose="ticket 7")
    return list(shown["revealed"]["emails"])


async def entries_and_verdict(hub: Hub) -> tuple[list[dict[str, Any]], Any]:
    async with hub.engine.begin() as conn:
        await make_checkpoint(conn, signer(hub))
    async with hub.engine.connect() as conn:
        entries = [e async for e in stored_entries(conn)]
        return entries, await verify_stored_trail(conn, signer(hub))


async def test_concurrent_reveals_each_get_their_values_and_entry_in_one_valid_tree(
    hub: Hub, memory: MemorySource
) -> None:
    ids = await customer_ids(hub)
    hub.actor = AGENT
    expected = {i: await reveal(hub, i) for i in ids}  # one after another: one batch each
    batches = hub.audited_reads.batches
    wanted = ids * 3
    got = await asyncio.gather(*(reveal(hub, i) for i in wanted))
    assert got == [expected[i] for i in wanted]
    assert hub.audited_reads.batches - batches < len(wanted) / 4  # they really shared

    entries, verdict = await entries_and_verdict(hub)
    assert verdict.ok, verdict.problem
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    reveals = [e for e in entries if e["action"] == "customer.reveal"]
    assert len(reveals) == len(ids) + len(wanted)
    concurrent = sorted(int(e["target_id"]) for e in reveals[len(ids) :])
    assert concurrent == sorted(wanted)
    assert all(e["outcome"] == "success" and e["principal"] == "agent-1" for e in reveals)
    assert not any(email in json.dumps(entries) for emails in got for email in emails)


async def test_a_bad_request_in_a_batch_fails_alone(hub: Hub, memory: MemorySource) -> None:
    ids = await customer_ids(hub)
    hub.actor = AGENT
    good, missing = asyncio.gather(*(reveal(hub, i) for i in ids[:5])), reveal(hub, 999_999)
    results = await asyncio.gather(good, missing, return_exceptions=True)
    assert len(results[0]) == 5 and all(results[0])
    assert isinstance(results[1], ConfigError) and "no record 999999" in str(results[1])
    entries, verdict = await entries_and_verdict(hub)
    assert verdict.ok
    assert [e["target_id"] for e in entries if e["action"] == "customer.reveal"] == [
        str(i) for i in ids[:5]
    ]


async def test_reveals_whose_batch_cannot_commit_get_the_error_and_no_values(
    hub: Hub, memory: MemorySource
) -> None:
    ids = await customer_ids(hub)
    hub.actor = AGENT
    async with hub.engine.connect() as conn:
        before = (await head(conn)).size

    def refuse_commit(conn: sa.Connection) -> None:
        raise RuntimeError("disk full (injected)")

    sa.event.listen(hub.engine.sync_engine, "commit", refuse_commit)
    try:
        results = await asyncio.gather(*(reveal(hub, i) for i in ids[:8]), return_exceptions=True)
    finally:
        sa.event.remove(hub.engine.sync_engine, "commit", refuse_commit)
    assert all(isinstance(r, RuntimeError) and "disk full" in str(r) for r in results), results
    async with hub.engine.connect() as conn:
        assert (await head(conn)).size == before  # no entry, and so no value, was released
    assert len(await reveal(hub, ids[0])) == 1  # and the next batch works


async def test_a_caller_cancelled_while_its_batch_is_written_fails_no_other_caller(
    hub: Hub, memory: MemorySource
) -> None:
    ids = await customer_ids(hub)
    hub.actor = AGENT
    expected = await reveal(hub, ids[0])
    batches = hub.audited_reads.batches
    ahead = asyncio.ensure_future(reveal(hub, ids[0]))
    await asyncio.sleep(0)  # its batch is being written
    writer, *others = [asyncio.ensure_future(reveal(hub, ids[0])) for _ in range(11)]
    await ahead
    while hub.audited_reads.queued:  # noqa: ASYNC110 - until the writer took all eleven
        await asyncio.sleep(0)
    writer.cancel()
    assert await asyncio.gather(*others) == [expected] * 10
    assert writer.cancelled()
    # Its batch went on: written once for all eleven, no empty or second batch.
    assert hub.audited_reads.batches - batches == 2
    entries, verdict = await entries_and_verdict(hub)
    assert verdict.ok, verdict.problem
    # The cancelled reveal's entry was committed with its batch: recorded, never released.
    assert sum(e["action"] == "customer.reveal" for e in entries) == 13


REVEALER = """
import asyncio, sys, time
from pathlib import Path
from hub.audit import Actor
from hub.config import load_settings
from hub.runtime import Hub
from hub.services.customers import show_customer

async def main(config, name, start, ids, rounds):
    async with Hub.open(load_settings(Path(config))) as hub:
        hub.actor = Actor(name, "agent", "test")
        time.sleep(max(0.0, start - time.time()))  # both processes begin together
        for _ in range(rounds):
            await asyncio.gather(*(
                show_customer(hub, i, reveal=["emails"], purpose="race") for i in ids
            ))
        print(hub.audited_reads.batches)

asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]),
                 [int(i) for i in sys.argv[4].split(",")], int(sys.argv[5])))
"""
ROUNDS = 6


async def test_two_processes_revealing_concurrently_keep_one_valid_tree(
    hub: Hub, hub_settings: Settings, memory: MemorySource
) -> None:
    if hub.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with its file lock; the race is PostgreSQL's")
    ids = (await customer_ids(hub))[:16]
    config = str(hub_settings.home / "hub.toml")
    start = time.time() + 4  # after both have imported the hub and opened the database
    revealers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            REVEALER,
            config,
            name,
            str(start),
            ",".join(map(str, ids)),
            str(ROUNDS),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for name in ("p1", "p2")
    ]
    for revealer in revealers:
        out, err = await asyncio.wait_for(revealer.communicate(), timeout=240)
        assert revealer.returncode == 0, err.decode()[-2000:]
        assert int(out) < ROUNDS * len(ids)  # each process batched its reveals
    entries, verdict = await entries_and_verdict(hub)
    assert verdict.ok, verdict.problem
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    by_process = {
        name: sorted(int(e["target_id"]) for e in entries if e["principal"] == name)
        for name in ("p1", "p2")
    }
    assert by_process == {name: sorted(ids * ROUNDS) for name in ("p1", "p2")}
    principals = [e["principal"] for e in entries if e["principal"] in by_process]
    assert sum(a != b for a, b in itertools.pairwise(principals)) > 2  # they really raced
