"""The retention purge: exactly what is past each cutoff goes, on SQLite and PostgreSQL.

The hub under test holds the typical periods an operator sets (interactions 2 years, closed
cases 7 years); the defaults keep those two forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hub.config import Settings
from hub.runtime import Hub
from hub.services.check import check_store
from hub.services.retention import retention_status, run_retention
from tests.hub.retention.seed import (
    CASES_CUT,
    DUE_CASES,
    DUE_COUNTS,
    DUE_INTERACTIONS,
    INTERACTIONS_CUT,
    KEPT_CASES,
    KEPT_INTERACTIONS,
    NOW,
    QUARANTINE_CUT,
    RAW_CUT,
    SECOND,
    STRIPPED_RAW,
    seed_store,
    stored,
    with_typical_periods,
)


@pytest.fixture
async def hub(hub_settings: Settings) -> AsyncIterator[Hub]:
    """A new hub whose [retention] table sets the typical periods."""
    async with Hub.open(with_typical_periods(hub_settings), create=True) as opened:
        yield opened


async def test_purges_exactly_what_is_past_each_cutoff_and_nothing_more_when_run_again(
    hub: Hub,
) -> None:
    await seed_store(hub)

    outcome = await run_retention(hub, clock=lambda: NOW)

    assert {t.data_type: t.count for t in outcome.types} == DUE_COUNTS
    after = await stored(hub)
    assert after["interactions"] == KEPT_INTERACTIONS
    assert after["cases"] == KEPT_CASES
    assert after["customers"] == {"fresh", "stored-before", "stored-at"}
    assert after["stripped"] == STRIPPED_RAW
    assert after["quarantine"] == {"q-at"}
    assert after["runs"] == {"finished-at", "running"}
    assert after["outbox"] == {"sent-before", "sent-at", "pending-old"}  # keys stay
    assert after["stripped_messages"] == {"sent-before"}
    assert after["orphan_index_rows"] == set()
    assert after["indexed"] >= KEPT_INTERACTIONS | {"stored-before"}
    # A stripped record's fields and index rows still check clean.
    report = await check_store(hub)
    assert report.ok, report.failures

    again = await run_retention(hub, clock=lambda: NOW)

    assert again.total == 0
    assert await stored(hub) == after


async def test_dry_run_counts_what_is_due_and_changes_nothing(hub: Hub) -> None:
    await seed_store(hub)
    before = await stored(hub)

    dry = await run_retention(hub, dry_run=True, clock=lambda: NOW)

    assert dry.dry_run
    assert {t.data_type: t.count for t in dry.types} == DUE_COUNTS
    assert await stored(hub) == before


async def test_small_batches_purge_the_same_as_one(hub_settings: Settings) -> None:
    settings = with_typical_periods(hub_settings, batch_size=2)
    async with Hub.open(settings, create=True) as small:
        await seed_store(small)
        batches: list[tuple[str, int]] = []

        outcome = await run_retention(
            small, clock=lambda: NOW, on_batch=lambda t, n: batches.append((t, n))
        )

        assert {t.data_type: t.count for t in outcome.types} == DUE_COUNTS
        assert (await stored(small))["interactions"] == KEPT_INTERACTIONS
        assert ("interactions", 3) in batches and len(batches) > len(DUE_COUNTS)


async def test_forever_keeps_a_data_type_whole(hub_settings: Settings) -> None:
    settings = with_typical_periods(hub_settings, interactions="forever", raw_payloads="forever")
    async with Hub.open(settings, create=True) as keeping:
        await seed_store(keeping)

        outcome = await run_retention(keeping, clock=lambda: NOW)

        by_type = {t.data_type: t for t in outcome.types}
        assert by_type["interactions"].count == by_type["raw_payloads"].count == 0
        assert by_type["interactions"].policy == "forever"
        assert by_type["interactions"].cutoff is None
        after = await stored(keeping)
        assert after["interactions"] == DUE_INTERACTIONS | KEPT_INTERACTIONS
        assert after["stripped"] == set()
        assert after["cases"] == KEPT_CASES  # the other types are purged as usual


async def test_status_shows_each_policy_what_is_due_and_the_oldest_item(hub: Hub) -> None:
    await seed_store(hub)

    status = {s.data_type: s for s in await retention_status(hub, clock=lambda: NOW)}

    assert {name: s.due for name, s in status.items()} == DUE_COUNTS
    assert status["interactions"].policy == "2 years"
    assert status["interactions"].cutoff == INTERACTIONS_CUT
    assert status["interactions"].action == "delete"
    assert status["raw_payloads"].action == "strip"
    assert status["interactions"].oldest_at == INTERACTIONS_CUT - SECOND
    assert status["closed_cases"].oldest_at == CASES_CUT - SECOND
    assert status["quarantine"].oldest_at == QUARANTINE_CUT - SECOND
    assert status["raw_payloads"].oldest_at == RAW_CUT - SECOND
    assert status["quarantine"].oldest_age_days == pytest.approx(90, abs=0.001)

    await run_retention(hub, clock=lambda: NOW)
    after = {s.data_type: s for s in await retention_status(hub, clock=lambda: NOW)}

    assert [s.due for s in after.values()] == [0] * len(after)
    assert after["interactions"].oldest_at == INTERACTIONS_CUT
    assert after["quarantine"].oldest_at == QUARANTINE_CUT


async def test_the_defaults_keep_every_interaction_and_closed_case(
    hub_settings: Settings,
) -> None:
    async with Hub.open(hub_settings, create=True) as defaults:
        await seed_store(defaults)

        outcome = await run_retention(defaults, clock=lambda: NOW)

        by_type = {t.data_type: t for t in outcome.types}
        assert by_type["interactions"].policy == by_type["closed_cases"].policy == "forever"
        assert by_type["interactions"].count == by_type["closed_cases"].count == 0
        after = await stored(defaults)
        assert after["interactions"] == DUE_INTERACTIONS | KEPT_INTERACTIONS
        assert after["cases"] == DUE_CASES | KEPT_CASES
        # The hub's own data still goes after its default period.
        assert after["stripped"] == STRIPPED_RAW
        assert after["quarantine"] == {"q-at"}
