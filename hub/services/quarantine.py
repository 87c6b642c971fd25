"""The quarantine: vendor records that did not fit the model, kept sealed until replayed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.audit import authorize, record_action
from hub.errors import ConfigError
from hub.replay import ReplayResult, replay_quarantine
from hub.runtime import Hub
from hub.store import quarantine as store
from hub.sync import QUARANTINE_TABLE, quarantine_row_key
from hub.vault import open_value
from hub.vault.subjects import load_subject_keys


def _entry_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "connection": row.connection,
        "stream": row.stream,
        "object_type": row.object_type,
        "external_id": row.external_id,
        "mapping_version": row.mapping_version,
        "error": row.error,
        "created_at": row.created_at,  # first seen invalid
        "last_seen_at": row.last_seen_at,  # the id stays while the record stays invalid
    }


async def list_entries(hub: Hub, connection: str | None, limit: int) -> list[dict[str, Any]]:
    """Open entries, newest first."""
    async with hub.engine.connect() as conn:
        return [_entry_dict(r) for r in await store.list_open(conn, connection, limit)]


async def show_entry(hub: Hub, entry_id: int) -> dict[str, Any]:
    """An entry with the field names of its payload; the values stay sealed."""
    async with hub.engine.connect() as conn:
        row = await store.get_entry(conn, entry_id)
        if row is not None:
            await load_subject_keys(conn, hub.keyring, [row.raw])
    if row is None:
        raise ConfigError(f"no quarantine entry {entry_id}; see `hub quarantine list`")
    raw = open_value(
        row.raw,
        hub.keyring,
        table=QUARANTINE_TABLE,
        column="raw",
        row=quarantine_row_key(row.connection, row.object_type, row.external_id),
    )
    return {
        **_entry_dict(row),
        "resolved_at": row.resolved_at,
        "payload_fields": sorted(raw) if isinstance(raw, dict) else [],
    }


async def replay(hub: Hub, connection: str | None, entry_ids: Sequence[int] | None) -> ReplayResult:
    """Map open entries again with today's mapping; valid ones move into the store.

    An unknown connection, or an unknown, resolved or other connection's id, is a ConfigError.
    """
    await authorize(
        hub,
        "quarantine.replay",
        action="quarantine.replay",
        target_type="connection",
        target_id=connection,
    )
    try:
        result = await replay_quarantine(hub, connection=connection, entry_ids=entry_ids)
    except Exception:
        await _record_replay(hub, connection, entry_ids, None)
        raise
    await _record_replay(hub, connection, entry_ids, result)
    return result


async def _record_replay(
    hub: Hub, connection: str | None, entry_ids: Sequence[int] | None, result: ReplayResult | None
) -> None:
    """One entry per replay, after it: its counts, or that it failed."""
    detail: dict[str, object] = {"entries": sorted(entry_ids)} if entry_ids else {}
    if result is not None:
        detail.update(
            moved=result.moved,
            superseded=result.superseded,
            still_invalid=result.still_invalid,
            erased=result.erased,
            failed=len(result.failed),
            busy=len(result.busy),
        )
    async with hub.engine.begin() as conn:
        await record_action(
            hub,
            conn,
            "quarantine.replay",
            outcome="failure" if result is None or result.failed else "success",
            target_type="connection",
            target_id=connection,
            detail=detail,
        )
