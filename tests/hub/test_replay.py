"""Quarantine replay: after a mapping fix, held-back records move into the store, in a run
of their own that never interleaves with a sync of the same stream."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.errors import ConfigError
from hub.plugins import plugin_mapping_paths
from hub.replay import replay_quarantine
from hub.runtime import Hub, utcnow
from hub.services.sandboxes import connect_sandbox
from hub.store.schema import quarantine, records, stream_leases, sync_runs
from hub.sync import StreamResult, sync_connection
from hub.testing import MemorySource


async def test_invalid_records_are_quarantined_while_the_rest_sync_and_replay_moves_them_in(
    hub: Hub, memory: MemorySource
) -> None:
    result = (await sync_connection(hub, "mem", streams=["cases"]))[0]
    bad = result.counters.records_quarantined
    assert bad > 0 and result.counters.records_written > 0
    async with hub.engine.connect() as conn:
        entries = (await conn.execute(sa.select(quarantine))).all()
    assert len(entries) == bad
    assert all(e.mapping_version == "memory-1" and e.error for e in entries)

    # Nothing changed in the mapping: a replay leaves them where they are.
    assert (await replay_quarantine(hub)).still_invalid == bad

    # An operator's corrected copy of the mapping (searched first) accepts them.
    fixed = _lenient_memory_mapping(hub)
    hub._mappings.clear()
    replayed = await replay_quarantine(hub)
    assert replayed.moved == bad and replayed.still_invalid == 0
    async with hub.engine.connect() as conn:
        open_left = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(quarantine)
                .where(quarantine.c.resolved_at.is_(None))
            )
        ).scalar()
        versions = set(
            (
                await conn.execute(
                    sa.select(records.c.mapping_version).where(
                        records.c.external_id.in_([e.external_id for e in entries])
                    )
                )
            ).scalars()
        )
    assert open_left == 0
    assert versions == {fixed}


def _lenient_memory_mapping(hub: Hub) -> str:
    """Write an operator copy of memory.yaml that reads unknown statuses as open."""
    found = (Path(p) / "memory.yaml" for p in plugin_mapping_paths())
    source = next(path for path in found if path.exists())
    text = source.read_text(encoding="utf-8").replace(
        'version: "memory-1"', 'version: "memory-1-lenient"'
    )
    target_dir = hub.settings.resolved_mapping_dirs[0]
    target_dir.mkdir(parents=True, exist_ok=True)
    (target_dir / "memory.yaml").write_text(_accept_unknown_statuses(text), encoding="utf-8")
    return "memory-1-lenient"


def _accept_unknown_statuses(text: str) -> str:
    """The memory source gives some cases the status "bogus"; read it (and others) as open."""
    strict = "                  strict: true\n"
    assert text.count(strict) == 1
    return text.replace(strict, "                  default: open\n")


async def _quarantine_cases_then_fix_the_mapping(hub: Hub) -> StreamResult:
    [synced] = await sync_connection(hub, "mem", streams=["cases"])
    _lenient_memory_mapping(hub)
    hub._mappings.clear()
    return synced


async def _open_entries(hub: Hub) -> int:
    async with hub.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(quarantine)
        return int(await conn.scalar(query.where(quarantine.c.resolved_at.is_(None))) or 0)


async def test_a_replay_is_a_run_of_its_own_that_counts_what_it_moved(
    hub: Hub, memory: MemorySource
) -> None:
    synced = await _quarantine_cases_then_fix_the_mapping(hub)
    replayed = await replay_quarantine(hub)
    async with hub.engine.connect() as conn:
        run = (await conn.execute(sa.select(sync_runs).where(sync_runs.c.kind == "replay"))).one()
        leases_left = await conn.scalar(sa.select(sa.func.count()).select_from(stream_leases))
    assert replayed.moved == synced.counters.records_quarantined > 0
    assert (run.stream, run.status) == ("cases", "succeeded")
    assert (run.records_read, run.records_written) == (replayed.moved, replayed.moved)
    assert leases_left == 0


async def test_replay_leaves_a_stream_being_synced_alone_and_its_entries_open(
    hub: Hub, memory: MemorySource
) -> None:
    synced = await _quarantine_cases_then_fix_the_mapping(hub)
    # A sync of mem/cases is running on another machine.
    async with hub.engine.begin() as conn:
        await conn.execute(
            sa.insert(stream_leases).values(
                connection="mem",
                stream="cases",
                run_id=synced.run_id + 1000,
                holder="elsewhere:4242:1",
                expires_at=utcnow() + timedelta(minutes=1),
            )
        )

    held = await replay_quarantine(hub)
    assert held.moved == 0 and len(held.busy) == 1 and "mem/cases" in held.busy[0]
    assert await _open_entries(hub) == synced.counters.records_quarantined

    async with hub.engine.begin() as conn:  # that sync ended
        await conn.execute(sa.delete(stream_leases))
    assert (await replay_quarantine(hub)).moved == synced.counters.records_quarantined
    assert await _open_entries(hub) == 0


# -- what cannot be replayed --------------------------------------------------------------


async def _replay_refused(hub: Hub, **kwargs: Any) -> str:
    """The ConfigError message of a refused replay, checking it changed nothing."""
    before = await _quarantine_and_runs(hub)
    with pytest.raises(ConfigError) as refused:
        await replay_quarantine(hub, **kwargs)
    assert await _quarantine_and_runs(hub) == before
    return str(refused.value)


async def _quarantine_and_runs(hub: Hub) -> tuple[list[Any], list[Any]]:
    async with hub.engine.connect() as conn:
        entries = (await conn.execute(sa.select(quarantine).order_by(quarantine.c.id))).all()
        runs = (await conn.execute(sa.select(sync_runs).order_by(sync_runs.c.id))).all()
    return list(entries), list(runs)


async def test_replaying_an_unknown_id_is_an_error_naming_it(
    hub: Hub, memory: MemorySource
) -> None:
    await _quarantine_cases_then_fix_the_mapping(hub)
    message = await _replay_refused(hub, entry_ids=[9999])
    assert "no quarantine entry 9999" in message


async def test_replaying_a_resolved_entry_is_an_error_saying_it_was_resolved(
    hub: Hub, memory: MemorySource
) -> None:
    await _quarantine_cases_then_fix_the_mapping(hub)
    async with hub.engine.connect() as conn:
        first, second = (await conn.execute(sa.select(quarantine.c.id).limit(2))).scalars()
    assert (await replay_quarantine(hub, entry_ids=[first])).moved == 1
    message = await _replay_refused(hub, entry_ids=[second, first])
    assert f"quarantine entry {first} was resolved" in message


async def test_replaying_an_unknown_connection_is_an_error_naming_it(
    hub: Hub, memory: MemorySource
) -> None:
    await _quarantine_cases_then_fix_the_mapping(hub)
    message = await _replay_refused(hub, connection="nope")
    assert "no connection named 'nope'" in message and "mem" in message


async def test_replaying_an_id_under_another_connection_is_an_error_naming_both(
    hub: Hub, memory: MemorySource
) -> None:
    await _quarantine_cases_then_fix_the_mapping(hub)
    await connect_sandbox(hub, "other", "memory", {"source": "unused", "token": "t"})
    async with hub.engine.connect() as conn:
        entry_id = await conn.scalar(sa.select(quarantine.c.id).limit(1))
    message = await _replay_refused(hub, connection="other", entry_ids=[entry_id])
    assert f"entry {entry_id} belongs to connection 'mem', not 'other'" in message


async def test_an_entry_that_does_not_open_is_reported_by_id_and_the_others_are_replayed(
    hub: Hub, memory: MemorySource
) -> None:
    await _quarantine_cases_then_fix_the_mapping(hub)
    async with hub.engine.begin() as conn:
        ids = list(
            (await conn.execute(sa.select(quarantine.c.id).order_by(quarantine.c.id))).scalars()
        )
        assert len(ids) >= 4
        swapped, garbled = ids[0], ids[2]
        donor = await conn.scalar(sa.select(quarantine.c.raw).where(quarantine.c.id == ids[1]))
        # One payload copied from another entry (its context binding refuses it), one garbled.
        await conn.execute(quarantine.update().where(quarantine.c.id == swapped).values(raw=donor))
        await conn.execute(
            quarantine.update().where(quarantine.c.id == garbled).values(raw="v1:AAAA")
        )

    replayed = await replay_quarantine(hub)

    assert [f.entry_id for f in replayed.failed] == [swapped, garbled]
    for failure in replayed.failed:
        assert failure.reason.startswith(
            f"quarantine.raw of entry {failure.entry_id} does not open"
        )
    assert replayed.moved == len(ids) - 2 and not replayed.complete
    async with hub.engine.connect() as conn:
        still_open = await conn.execute(
            sa.select(quarantine.c.id).where(quarantine.c.resolved_at.is_(None))
        )
        assert sorted(still_open.scalars()) == [swapped, garbled]
        [status] = (
            await conn.execute(sa.select(sync_runs.c.status).where(sync_runs.c.kind == "replay"))
        ).scalars()
    assert status == "succeeded"


async def test_a_replayed_case_of_a_forgotten_customer_is_dropped_not_stored(
    hub: Hub, memory: MemorySource
) -> None:
    from hub.services.erasure import forget_customer

    await sync_connection(hub, "mem", streams=["people"])
    synced = await _quarantine_cases_then_fix_the_mapping(hub)  # c24 (of p24) is among them
    async with hub.engine.connect() as conn:
        p24 = await conn.scalar(sa.select(records.c.id).where(records.c.external_id == "p24"))
    await forget_customer(hub, int(p24), reason="DSR-24")

    replayed = await replay_quarantine(hub)

    assert replayed.erased == 1
    assert replayed.moved == synced.counters.records_quarantined - 1
    async with hub.engine.connect() as conn:
        stored = await conn.scalar(sa.select(sa.func.count()).where(records.c.external_id == "c24"))
    assert stored == 0
