"""Quarantine replay: map held-back records again with today's mapping and move the valid ones
into the store, unless the store already holds a newer version of the same record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.errors import ConfigError, RecordInvalid, StreamBusy, VaultError
from hub.mapping import Tombstone as MappedTombstone
from hub.run import Run
from hub.runtime import Hub, utcnow
from hub.store.connections import get_connection
from hub.store.quarantine import get_entry, list_open, mark_resolved, record_failure
from hub.store.records import Tombstone, latest_source_update
from hub.store.runs import RunCounters
from hub.sync import QUARANTINE_TABLE, PageWrite, quarantine_row_key, store_page, to_record_row
from hub.vault import open_value
from hub.vault.data_key import SubjectKey
from hub.vault.keyring import Forgotten
from hub.vault.rotation import confirm_primaries
from hub.vault.subjects import load_subject_keys, subject_keys_for, subject_of


@dataclass(frozen=True)
class ReplayFailure:
    """An entry that could not be replayed (its sealed payload does not open): it stays open."""

    entry_id: int
    reason: str


@dataclass
class ReplayResult:
    """What a quarantine replay did."""

    moved: int = 0  # now valid and written to the store
    superseded: int = 0  # now valid, but the store already holds a newer version
    still_invalid: int = 0
    erased: int = 0  # now valid, but its customer was forgotten: dropped, not stored
    busy: list[str] = field(default_factory=list)  # streams left for later: a run held them
    failed: list[ReplayFailure] = field(default_factory=list)  # each bad entry, by id

    @property
    def complete(self) -> bool:
        """Whether every entry asked for was tried and none failed."""
        return not self.busy and not self.failed


async def replay_quarantine(
    hub: Hub, *, connection: str | None = None, entry_ids: Sequence[int] | None = None
) -> ReplayResult:
    """Replay open quarantine entries (of one connection, or only the given ids).

    An unknown connection, or an id that is unknown, resolved or of another connection, is a
    ConfigError raised before anything is replayed.

    Each stream's entries are replayed in a run of their own that holds the stream's lease, so
    a replay never interleaves with a sync of that stream; a busy stream's entries stay open.
    Each entry is replayed on its own: one whose payload does not open is listed in
    ``failed`` with the reason, stays open, and the others go on.
    """
    result = ReplayResult()
    async with hub.engine.connect() as conn:
        if connection is not None:
            await get_connection(conn, connection)  # an unknown name is an error, not "moved 0"
        for entry_id in entry_ids or ():
            await _check_replayable(conn, entry_id, connection)
        entries = [
            e for e in await list_open(conn, connection) if not entry_ids or e.id in entry_ids
        ]
    by_stream: dict[tuple[str, str], list[Any]] = {}
    for entry in entries:
        by_stream.setdefault((entry.connection, entry.stream), []).append(entry)
    for (conn_name, stream), group in by_stream.items():
        async with hub.engine.connect() as conn:
            system = (await get_connection(conn, conn_name))[0]
        try:
            await _replay_stream(hub, conn_name, stream, system, group, result)
        except StreamBusy as exc:
            result.busy.append(str(exc))
    return result


async def _check_replayable(conn: AsyncConnection, entry_id: int, connection: str | None) -> None:
    """Raise ConfigError unless the entry exists, is open, and belongs to ``connection``."""
    entry = await get_entry(conn, entry_id)
    if entry is None:
        raise ConfigError(f"no quarantine entry {entry_id}; see `hub quarantine list`")
    if entry.resolved_at is not None:
        raise ConfigError(
            f"quarantine entry {entry_id} was resolved at {entry.resolved_at:%Y-%m-%d %H:%M:%S} "
            "UTC; only open entries can be replayed (see `hub quarantine list`)"
        )
    if connection is not None and entry.connection != connection:
        raise ConfigError(
            f"quarantine entry {entry_id} belongs to connection {entry.connection!r}, "
            f"not {connection!r}"
        )


async def _replay_stream(
    hub: Hub, connection: str, stream: str, system: str, entries: list[Any], result: ReplayResult
) -> None:
    async with Run(hub, connection, stream, kind="replay") as run:
        async with hub.engine.connect() as conn:
            await load_subject_keys(conn, hub.keyring, [entry.raw for entry in entries])
        for entry in entries:
            try:
                raw = _open_payload(hub, entry)
            except VaultError as exc:
                result.failed.append(ReplayFailure(entry.id, str(exc)))
                continue
            outcome = await _replay_entry(hub, entry, raw, system, run)
            setattr(result, outcome, getattr(result, outcome) + 1)


def _open_payload(hub: Hub, entry: Any) -> dict[str, Any]:
    """The vendor record an entry holds; VaultError saying where when it does not open."""
    row_key = quarantine_row_key(entry.connection, entry.object_type, entry.external_id)
    try:
        raw = open_value(entry.raw, hub.keyring, table=QUARANTINE_TABLE, column="raw", row=row_key)
    except VaultError as exc:
        raise VaultError(
            f"{QUARANTINE_TABLE}.raw of entry {entry.id} does not open: {exc}"
        ) from None
    if not isinstance(raw, dict):
        raise VaultError(f"{QUARANTINE_TABLE}.raw of entry {entry.id} is not a vendor record")
    return raw


# Which run counter each outcome adds to: a replay reads entries, not vendor records.
_COUNTER = {
    "moved": "records_written",
    "superseded": "records_unchanged",
    "still_invalid": "records_quarantined",
    "erased": "records_erased",
}


async def _replay_entry(hub: Hub, entry: Any, raw: dict[str, Any], system: str, run: Run) -> str:
    """Replay one entry's opened payload; returns the ReplayResult counter it adds to."""
    mapping = hub.mapping(system)
    now = utcnow()
    try:
        mapped = mapping.stream(entry.stream).apply(raw, system=system, connection=entry.connection)
    except RecordInvalid as exc:
        async with hub.engine.begin() as conn:
            delta = await _in_run(conn, run, "still_invalid")
            await record_failure(conn, entry.id, error=str(exc), mapping_version=mapping.version)
        run.committed(delta)
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
        owner = None if isinstance(mapped, MappedTombstone) else subject_of(mapped)
        subject_key: SubjectKey | None = None
        if outcome == "moved" and owner is not None:
            resolved = (await subject_keys_for(conn, hub.keyring, [owner]))[owner]
            if isinstance(resolved, Forgotten):
                outcome = "erased"
            else:
                subject_key = resolved
        delta = await _in_run(conn, run, outcome)
        if outcome == "moved":
            write = PageWrite(
                entry.connection,
                entry.stream,
                run.id,
                mapping.version,
                rows=[] if deleted else [to_record_row(mapped, hub, subject_key=subject_key)],
                tombstones=(
                    [Tombstone(key.object_type, key.external_id, key.source_updated_at)]
                    if deleted
                    else []
                ),
                now=now,
            )
            await store_page(conn, hub, write)
            await confirm_primaries(conn, hub.keyring)  # sealed under keys still primary
        await mark_resolved(conn, entry.id, now)
    run.committed(delta)
    return outcome


async def _in_run(conn: AsyncConnection, run: Run, outcome: str) -> RunCounters:
    """Renew the run's lease (failing if it was lost) and count the entry in the run."""
    await run.renew(conn)
    delta = RunCounters(records_read=1, **{_COUNTER[outcome]: 1})
    await run.count(conn, delta)
    return delta
