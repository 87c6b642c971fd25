"""What a connection left in the store, in plaintext, so tests compare stores across hubs
and runs by what they say rather than by their (differently keyed) bytes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.models import MODELS
from hub.runtime import Hub
from hub.store.schema import quarantine, records
from hub.vault import open_raw, record_row, unseal_data
from hub.vault.subjects import load_subject_keys

RecordKey = tuple[str, str]  # (object_type, external_id)
# -> (kind, deleted, canonical fields, raw vendor record): what the content hash covers
Snapshot = dict[RecordKey, tuple[str, bool, dict[str, Any], dict[str, Any]]]


async def store_snapshot(hub: Hub, connection: str, stream: str | None = None) -> Snapshot:
    """Every stored record of ``connection`` (of one ``stream`` if given), decrypted: its
    canonical fields and the vendor's record it came from (empty for tombstones). A record of
    a forgotten customer raises :class:`hub.vault.data_key.Erased`."""
    query = sa.select(records).where(records.c.connection == connection)
    if stream is not None:
        query = query.where(records.c.stream == stream)
    snap: Snapshot = {}
    async with hub.engine.connect() as conn:
        stored = list(await conn.execute(query))
        await load_subject_keys(conn, hub.keyring, [(r.data, r.raw) for r in stored])
        for r in stored:
            row = record_row(r.connection, r.object_type, r.external_id)
            data = {} if r.deleted else unseal_data(r.kind, dict(r.data), hub.keyring, row=row)
            raw = {} if r.raw is None else open_raw(r.raw, hub.keyring, row=row)
            snap[(r.object_type, r.external_id)] = (r.kind, bool(r.deleted), data, raw)
    return snap


async def open_quarantine(
    hub: Hub, connection: str, stream: str | None = None
) -> list[tuple[str, str, str | None, str]]:
    """Open quarantine entries as (stream, object_type, external_id, error), sorted."""
    query = sa.select(
        quarantine.c.stream, quarantine.c.object_type, quarantine.c.external_id, quarantine.c.error
    ).where(quarantine.c.connection == connection, quarantine.c.resolved_at.is_(None))
    if stream is not None:
        query = query.where(quarantine.c.stream == stream)
    async with hub.engine.connect() as conn:
        rows = [(s, t, e, err) for s, t, e, err in await conn.execute(query)]
    return sorted(rows, key=lambda r: (r[0], r[1], r[2] or "", r[3]))


def personal_values(snapshot: Snapshot) -> set[str]:
    """The personal values in a snapshot: every string in a field its model marks ``Pii``."""
    found: set[str] = set()
    for kind, deleted, data, _raw in snapshot.values():
        model = MODELS.get(kind)
        if deleted or model is None:
            continue
        for name in model.pii_fields():
            found |= _strings(data.get(name))
    return found


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value))
    return set()
