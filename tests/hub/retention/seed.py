"""A store holding one item on each side of every retention cutoff, at a fixed now.

The cutoffs are those of the typical periods (docs/retention.md): the defaults keep
interactions and closed cases forever, so a test sets those two periods as an operator does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from hub.config import Settings
from hub.models import CanonicalRecord, Case, Customer, Interaction, Provenance
from hub.retention import RetentionSettings
from hub.runtime import Hub
from hub.store.quarantine import QuarantineRow, quarantine_records
from hub.store.records import upsert_records
from hub.store.schema import blind_index, outbox, quarantine, records, sync_runs
from hub.sync import QUARANTINE_TABLE, quarantine_row_key, to_record_row
from hub.vault import seal_value

# The [retention] table of docs/retention.md: the typical legal periods an operator sets.
TYPICAL_PERIODS = {"interactions": "2 years", "closed_cases": "7 years"}
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
# The typical periods' cutoffs at NOW (the others are defaults): calendar years, so no leap
# day moves them.
INTERACTIONS_CUT = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)  # 2 years
CASES_CUT = datetime(2019, 6, 15, 12, 0, tzinfo=UTC)  # 7 years
RAW_CUT = NOW - timedelta(days=30)
QUARANTINE_CUT = NOW - timedelta(days=90)
RUNS_CUT = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)  # 1 year
MESSAGES_CUT = NOW - timedelta(days=90)
SECOND = timedelta(seconds=1)
CONNECTION = "mem"

# What a purge at NOW with the typical periods removes (by external id, run id or entry).
DUE_INTERACTIONS = {"ended-before", "ended-before-at-plus-2h", "undated-old"}
KEPT_INTERACTIONS = {"ended-at", "long-call", "ended-at-minus-3h", "undated-new"}
DUE_CASES = {"closed-before"}
KEPT_CASES = {"closed-at", "open-old", "solved-old"}
STRIPPED_RAW = {"stored-before"}
DUE_COUNTS = {
    "interactions": 3,
    "closed_cases": 1,
    "raw_payloads": 1,
    "quarantine": 1,
    "run_history": 2,
    "sent_messages": 1,
    "audit_trail": 0,  # the seeded trail is recent: nothing to prune
}


def with_typical_periods(settings: Settings, **changes: object) -> Settings:
    """``settings`` with the typical periods (and ``changes``) as its [retention] table."""
    policy = RetentionSettings.model_validate({**TYPICAL_PERIODS, **changes})
    return settings.model_copy(update={"retention": policy})


def _provenance(object_type: str, external_id: str, updated: datetime | None = None) -> Any:
    return Provenance(
        system="memory",
        connection=CONNECTION,
        object_type=object_type,
        external_id=external_id,
        source_updated_at=updated,
    )


def interaction(
    external_id: str,
    *,
    started: datetime | None = None,
    ended: datetime | None = None,
    source_updated: datetime | None = None,
) -> Interaction:
    return Interaction(
        provenance=_provenance("call", external_id, source_updated),
        raw={"id": external_id},
        interaction_kind="call",
        started_at=started,
        ended_at=ended,
        customer_phones=["+14155550100"],
    )


def case(external_id: str, status: str, updated: datetime) -> Case:
    return Case(
        provenance=_provenance("ticket", external_id, updated),
        raw={"id": external_id},
        status=status,
        subject="Router down",
        updated_at=updated,
    )


def customer(external_id: str) -> Customer:
    return Customer(
        provenance=_provenance("person", external_id),
        raw={"id": external_id, "email": f"{external_id}@example.com"},
        display_name="Sarah Atkins",
        emails=[f"{external_id}@example.com"],
    )


async def store_models(hub: Hub, models: Sequence[CanonicalRecord], *, stored_at: datetime) -> None:
    rows = [to_record_row(m, hub) for m in models]
    async with hub.engine.begin() as conn:
        await upsert_records(
            conn,
            connection=CONNECTION,
            stream="s",
            mapping_version="t",
            rows=rows,
            tombstones=[],
            now=stored_at,
        )


async def quarantine_entry(hub: Hub, external_id: str, *, last_seen: datetime) -> None:
    raw = seal_value(
        {"id": external_id},
        hub.keyring,
        table=QUARANTINE_TABLE,
        column="raw",
        row=quarantine_row_key(CONNECTION, "call", external_id),
    )
    async with hub.engine.begin() as conn:
        await quarantine_records(
            conn,
            [QuarantineRow("call", external_id, raw, "status: unknown value")],
            connection=CONNECTION,
            stream="s",
            mapping_version="t",
            run_id=None,
            now=last_seen,
        )


async def run_row(
    hub: Hub, stream: str, status: str, started: datetime, finished: datetime | None
) -> None:
    async with hub.engine.begin() as conn:
        await conn.execute(
            sa.insert(sync_runs).values(
                connection=CONNECTION,
                stream=stream,
                kind="sync",
                status=status,
                full_refresh=False,
                started_at=started,
                finished_at=finished,
            )
        )


async def outbox_entry(hub: Hub, key: str, status: str, sent: datetime | None) -> None:
    async with hub.engine.begin() as conn:
        await conn.execute(
            sa.insert(outbox).values(
                connection=CONNECTION,
                idempotency_key=key,
                message="sealed message",  # never opened once sent
                status=status,
                attempts=1,
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
                sent_at=sent,
            )
        )


async def seed_store(hub: Hub) -> None:
    """One item each side of every cutoff at NOW (see the DUE_* and KEPT_* sets)."""
    minus_3h = timezone(timedelta(hours=-3))
    plus_2h = timezone(timedelta(hours=2))
    fresh = NOW - timedelta(days=1)
    await store_models(
        hub,
        [
            interaction("ended-before", ended=INTERACTIONS_CUT - timedelta(microseconds=1)),
            interaction("ended-at", ended=INTERACTIONS_CUT),
            interaction(
                "long-call", started=INTERACTIONS_CUT - SECOND, ended=INTERACTIONS_CUT + SECOND
            ),
            # Written with offsets: the instant counts, not the text.
            interaction(
                "ended-before-at-plus-2h", ended=(INTERACTIONS_CUT - SECOND).astimezone(plus_2h)
            ),
            interaction("ended-at-minus-3h", ended=INTERACTIONS_CUT.astimezone(minus_3h)),
            interaction("undated-old", source_updated=INTERACTIONS_CUT - SECOND),
            interaction("undated-new"),
            case("closed-before", "closed", CASES_CUT - SECOND),
            case("closed-at", "closed", CASES_CUT),
            case("open-old", "open", datetime(2010, 1, 1, tzinfo=UTC)),
            case("solved-old", "solved", datetime(2010, 1, 1, tzinfo=UTC)),
            customer("fresh"),
        ],
        stored_at=fresh,
    )
    await store_models(hub, [customer("stored-before")], stored_at=RAW_CUT - SECOND)
    await store_models(hub, [customer("stored-at")], stored_at=RAW_CUT)
    await quarantine_entry(hub, "q-before", last_seen=QUARANTINE_CUT - SECOND)
    await quarantine_entry(hub, "q-at", last_seen=QUARANTINE_CUT)
    await run_row(hub, "finished-before", "succeeded", RUNS_CUT - 2 * SECOND, RUNS_CUT - SECOND)
    await run_row(hub, "finished-at", "failed", RUNS_CUT - SECOND, RUNS_CUT)
    await run_row(hub, "running", "running", datetime(2020, 1, 1, tzinfo=UTC), None)
    await run_row(hub, "interrupted", "interrupted", RUNS_CUT - SECOND, None)
    await outbox_entry(hub, "sent-before", "sent", MESSAGES_CUT - SECOND)
    await outbox_entry(hub, "sent-at", "sent", MESSAGES_CUT)
    await outbox_entry(hub, "pending-old", "pending", None)


async def stored(hub: Hub) -> dict[str, Any]:
    """What a purge may change, as plain sets."""
    async with hub.engine.connect() as conn:
        columns = [records.c.id, records.c.kind, records.c.external_id, records.c.raw]
        rows = list(await conn.execute(sa.select(*columns)))
        indexed = set(await conn.scalars(sa.select(blind_index.c.record_id)))
        entries = set(await conn.scalars(sa.select(quarantine.c.external_id)))
        runs = set(await conn.scalars(sa.select(sync_runs.c.stream)))
        messages = {m.idempotency_key: m.message for m in await conn.execute(sa.select(outbox))}
    return {
        "interactions": {r.external_id for r in rows if r.kind == "interaction"},
        "cases": {r.external_id for r in rows if r.kind == "case"},
        "customers": {r.external_id for r in rows if r.kind == "customer"},
        "stripped": {r.external_id for r in rows if r.raw is None},
        "indexed": {r.external_id for r in rows if r.id in indexed},
        "orphan_index_rows": indexed - {r.id for r in rows},
        "quarantine": entries,
        "runs": runs,
        "outbox": set(messages),
        "stripped_messages": {key for key, message in messages.items() if message is None},
    }
