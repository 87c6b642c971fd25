"""Quarantine replay: map held-back records again with today's mapping and move the valid ones
into the store, unless the store already holds a newer version of the same record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub.errors import RecordInvalid
from hub.mapping import Tombstone as MappedTombstone
from hub.runtime import Hub, utcnow
from hub.store.connections import get_connection
from hub.store.quarantine import list_open, mark_resolved, record_failure
from hub.store.records import Tombstone, latest_source_update, upsert_records
from hub.sync import QUARANTINE_TABLE, quarantine_row_key, to_record_row
from hub.vault import open_value


@dataclass
class ReplayResult:
    """What a quarantine replay did."""

    moved: int = 0  # now valid and written to the store
    superseded: int = 0  # now valid, but the store already holds a newer version
    still_invalid: int = 0


async def replay_quarantine(
    hub: Hub, *, connection: str | None = None, entry_ids: Sequence[int] | None = None
) -> ReplayResult:
    """Replay open quarantine entries (of one connection, or only the given ids)."""
    result = ReplayResult()
    async with hub.engine.connect() as conn:
        entries = [
            e for e in await list_open(conn, connection) if not entry_ids or e.id in entry_ids
        ]
    systems: dict[str, str] = {}
    for entry in entries:
        if entry.connection not in systems:
            async with hub.engine.connect() as conn:
                systems[entry.connection] = (await get_connection(conn, entry.connection))[0]
        outcome = await _replay_entry(hub, entry, systems[entry.connection])
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


async def _replay_entry(hub: Hub, entry: Any, system: str) -> str:
    """Replay one entry; returns the ReplayResult counter it adds to."""
    mapping = hub.mapping(system)
    row_key = quarantine_row_key(entry.connection, entry.object_type, entry.external_id)
    raw = open_value(entry.raw, hub.keyring, table=QUARANTINE_TABLE, column="raw", row=row_key)
    now = utcnow()
    try:
        mapped = mapping.stream(entry.stream).apply(raw, system=system, connection=entry.connection)
    except RecordInvalid as exc:
        async with hub.engine.begin() as conn:
            await record_failure(conn, entry.id, error=str(exc), mapping_version=mapping.version)
        return "still_invalid"
    deleted = isinstance(mapped, MappedTombstone)
    key = mapped if isinstance(mapped, MappedTombstone) else mapped.provenance
    async with hub.engine.begin() as conn:
        stored = await latest_source_update(
            conn, entry.connection, key.object_type, key.external_id
        )
        outcome = "moved"
        if stored is not None and (key.source_updated_at is None or stored > key.source_updated_at):
            outcome = "superseded"
        else:
            await upsert_records(
                conn,
                connection=entry.connection,
                stream=entry.stream,
                mapping_version=mapping.version,
                rows=[] if deleted else [to_record_row(mapped, hub)],
                tombstones=(
                    [Tombstone(key.object_type, key.external_id, key.source_updated_at)]
                    if deleted
                    else []
                ),
                now=now,
            )
        await mark_resolved(conn, entry.id, now)
    return outcome
