"""The auditor's services: list, export, verify, prove, checkpoint. Each one authorises
through the one role check and is itself recorded on the trail."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit import authorize, record_action
from hub.audit.checkpoints import all_checkpoints, checkpoint_due, make_checkpoint
from hub.audit.entry import customer_pseudonym, iso, row_to_entry
from hub.audit.merkle import consistency_path, inclusion_path
from hub.audit.offline_verify import (
    BUNDLE_FORMAT,
    ENTRY_FIELDS,
    TrailCheck,
    Verdict,
)
from hub.audit.pruning import ARCHIVE_ACTION, delete_pruned, plan_prune, seal_prune
from hub.audit.signing import Signer, load_signer
from hub.audit.trail import (
    entry_at,
    leaf_hashes,
    pruned_size,
    pruned_subtrees,
    stored_entries,
)
from hub.audit.verify import verify_stored_trail
from hub.errors import AuditError, ConfigError
from hub.retention.policy import Period
from hub.runtime import Hub, utcnow
from hub.store.schema import audit_entries, records

log = logging.getLogger(__name__)
EXPORT_FORMATS = ("csv", "jsonl", "bundle")
# What `hub audit list` searches unless told a time or --all: "the last 3 hot" of the trail's
# retention. Older entries stay stored, verified and exported until retention prunes them.
HOT_WINDOW = Period(3, "months")


@cache
def _signer(path: Path) -> Signer:
    return load_signer(path)


def signer(hub: Hub) -> Signer:
    """The hub's checkpoint signer; its key file is created on first use."""
    return _signer(hub.settings.resolved_audit_key_file)


@dataclass(frozen=True)
class TrailFilter:
    """What `hub audit list` narrows the trail to; None means any."""

    principal: str | None = None
    role: str | None = None
    action: str | None = None
    customer: str | None = None  # a record id, or a pseudonym as the trail shows it
    outcome: str | None = None
    since: str | None = None  # ISO 8601, inclusive
    until: str | None = None  # ISO 8601, exclusive
    everything: bool = False  # the whole trail kept, not only the hot window (no since)


def _iso_bound(text: str | None, flag: str) -> str | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{flag}: {text!r} is not an ISO 8601 time (2026-12-02T09:00)") from None
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _pseudonym(hub: Hub, conn: AsyncConnection, customer: str) -> str:
    """A record id becomes its pseudonym; anything else is taken as a pseudonym already."""
    if not customer.isdigit():
        return customer
    row = (
        await conn.execute(
            sa.select(records.c.connection, records.c.object_type, records.c.external_id).where(
                records.c.id == int(customer)
            )
        )
    ).first()
    if row is None:
        raise ConfigError(f"--customer: no record {customer}")
    return customer_pseudonym(hub.keyring, row.connection, row.object_type, row.external_id)


async def list_trail(hub: Hub, where: TrailFilter, *, limit: int = 100) -> list[dict[str, Any]]:
    """Entries matching ``where``, newest first; without ``since`` (or ``everything``) only
    those of the hot window, the last 3 months (docs/audit.md, Retention)."""
    filters = {k: v for k, v in asdict(where).items() if v not in (None, False)}
    await authorize(hub, "audit.read", action="audit.list")
    async with hub.engine.begin() as conn:
        await record_action(hub, conn, "audit.list", detail={"filters": sorted(filters)})
        # Rows of pruned entries a killed prune left undeleted are gone already.
        query = sa.select(audit_entries).where(audit_entries.c.seq > await pruned_size(conn))
        for name in ("principal", "role", "action", "outcome"):
            if filters.get(name) is not None:
                query = query.where(audit_entries.c[name] == filters[name])
        if where.customer is not None:
            pseudonym = await _pseudonym(hub, conn, where.customer)
            query = query.where(audit_entries.c.customer == pseudonym)
        since, until = _iso_bound(where.since, "--since"), _iso_bound(where.until, "--until")
        if since is None and not where.everything:
            since = iso(HOT_WINDOW.cutoff(utcnow()))
        if since is not None:
            query = query.where(audit_entries.c.at >= since)
        if until is not None:
            query = query.where(audit_entries.c.at < until)
        rows = await conn.execute(query.order_by(audit_entries.c.seq.desc()).limit(limit))
        return [row_to_entry(r._mapping) for r in rows]


async def checkpoint(hub: Hub) -> dict[str, Any]:
    """Record the request, then sign the head that includes it; with the public key, so the
    auditor can keep it outside the hub."""
    await authorize(hub, "audit.checkpoint", action="audit.checkpoint")
    async with hub.engine.begin() as conn:
        await record_action(hub, conn, "audit.checkpoint")
        made = await make_checkpoint(conn, signer(hub))
    return {**made, "public_key": signer(hub).public_key_b64}


async def checkpoint_if_due(
    hub: Hub, *, every_entries: int = 1_000, every_seconds: float | None = 60
) -> dict[str, Any] | None:
    """Sign the head when it is due (see :func:`hub.audit.checkpoints.checkpoint_due`): the
    scheduler calls this every minute, commands at their end with ``every_seconds=None``."""
    async with hub.engine.begin() as conn:
        if not await checkpoint_due(conn, every_entries=every_entries, every_seconds=every_seconds):
            return None
        return await make_checkpoint(conn, signer(hub))


async def verify(hub: Hub, kept: dict[str, Any] | None = None) -> Verdict:
    """Check the stored trail against its checkpoints and the auditor's ``kept`` one."""
    await authorize(hub, "audit.read", action="audit.verify")
    async with hub.engine.begin() as conn:
        await record_action(hub, conn, "audit.verify", detail={"kept": kept is not None})
    async with hub.engine.connect() as conn:
        return await verify_stored_trail(conn, signer(hub), kept)


async def prove_inclusion(hub: Hub, seq: int) -> dict[str, Any]:
    """An inclusion proof of entry ``seq`` in a freshly signed checkpoint."""
    await authorize(
        hub, "audit.read", action="audit.prove", target_type="audit_entry", target_id=str(seq)
    )
    async with hub.engine.begin() as conn:
        await record_action(hub, conn, "audit.prove", target_type="audit_entry", target_id=str(seq))
        signed = await make_checkpoint(conn, signer(hub))
    async with hub.engine.connect() as conn:
        size = int(signed["size"])
        if not 1 <= seq <= size:
            raise ConfigError(f"no entry {seq}: the trail holds entries 1..{size}")
        leaves = await leaf_hashes(conn, size)
        entry = await entry_at(conn, seq)
    return {
        "entry": entry,
        "index": seq - 1,
        "size": size,
        "root": signed["root"],
        "path": [h.hex() for h in inclusion_path(seq - 1, leaves)],
        "checkpoint": {**signed, "public_key": signer(hub).public_key_b64},
    }


async def prove_consistency(hub: Hub, old_size: int, old_root: str) -> dict[str, Any]:
    """A consistency proof from a head the auditor kept to a freshly signed one; AuditError
    when the trail does not extend that head (it was rewritten or truncated)."""
    await authorize(hub, "audit.read", action="audit.consistency")
    async with hub.engine.begin() as conn:
        await record_action(hub, conn, "audit.consistency", detail={"old_size": old_size})
        signed = await make_checkpoint(conn, signer(hub))
    size = int(signed["size"])
    if not 0 <= old_size <= size:
        raise AuditError(
            f"the kept head has {old_size} entries but the trail only {size}: entries were removed"
        )
    async with hub.engine.connect() as conn:
        leaves = await leaf_hashes(conn, size, from_entries=True)
    try:
        extended = leaves.root(0, old_size).hex() == old_root
    except ValueError:  # a size no kept checkpoint had: its prefix was pruned unkept
        raise AuditError(
            f"the kept head of {old_size} entries is not a checkpoint of this trail, "
            "and the entries before it were pruned"
        ) from None
    if not extended:
        raise AuditError(
            f"the trail does not extend the kept head of {old_size} entries: "
            "an entry up to it was altered, removed or inserted"
        )
    path = consistency_path(old_size, leaves)
    return {
        "old_size": old_size,
        "old_root": old_root,
        "size": size,
        "root": signed["root"],
        "path": [h.hex() for h in path],
        "checkpoint": {**signed, "public_key": signer(hub).public_key_b64},
    }


def _csv_row(entry: dict[str, Any]) -> list[Any]:
    row = [entry[name] for name in ENTRY_FIELDS]
    row[ENTRY_FIELDS.index("fields")] = json.dumps(entry["fields"], separators=(",", ":"))
    row[ENTRY_FIELDS.index("detail")] = json.dumps(
        entry["detail"], sort_keys=True, separators=(",", ":")
    )
    return [*row, entry["leaf_hash"]]


async def export_trail(hub: Hub, fmt: str, out: TextIO) -> int:
    """Write the trail (up to a checkpoint signed now) as CSV, JSON lines or a bundle
    (header with the public key and every checkpoint, then the entries); returns the count."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"--format: {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    await authorize(hub, "audit.export", action="audit.export")
    async with hub.engine.begin() as conn:
        await record_action(hub, conn, "audit.export", detail={"format": fmt})
        signed = await make_checkpoint(conn, signer(hub))
    write: Callable[[dict[str, Any]], None]
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow([*ENTRY_FIELDS, "leaf_hash"])

        def write(entry: dict[str, Any]) -> None:
            writer.writerow(_csv_row(entry))
    else:

        def write(entry: dict[str, Any]) -> None:
            out.write(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")

    count = 0
    async with hub.engine.connect() as conn:
        if fmt == "bundle":
            header = {
                "format": BUNDLE_FORMAT,
                "public_key": signer(hub).public_key_b64,
                "checkpoints": await all_checkpoints(conn),
                "pruned": await pruned_subtrees(conn),
            }
            out.write(json.dumps(header, sort_keys=True) + "\n")
        async for entry in stored_entries(conn, up_to=int(signed["size"])):
            write(entry)
            count += 1
    return count


async def _check_range(
    conn: AsyncConnection, public_key: bytes, checkpoints: list[dict[str, Any]], up_to: int
) -> None:
    """Entries up to ``up_to`` must verify against the checkpoints before they are archived:
    an archive, like a prune, never launders an altered entry."""
    check = TrailCheck(checkpoints, public_key)
    check.feed_pruned(await pruned_subtrees(conn))
    async for entry in stored_entries(conn, up_to=up_to):
        if not check.feed(entry):
            break
    verdict = check.finish()
    if not verdict.ok:
        raise AuditError(f"the audit trail was not archived, it does not verify: {verdict.problem}")


async def prune_trail(hub: Hub, cutoff: datetime, *, archived_only: bool | None = None) -> int:
    """Prune the entries older than ``cutoff`` that a signed checkpoint covers (the caller
    authorised it: retention); how many. The prune is itself an entry on the trail. Unless
    ``archived_only`` is False (default: ``[retention] archive_before_prune``), only entries
    an archive covers are pruned; those kept for want of one are logged."""
    if archived_only is None:
        archived_only = hub.settings.retention.archive_before_prune

    async def record(conn: AsyncConnection, detail: dict[str, object]) -> int:
        return await record_action(
            hub, conn, "audit.prune", target_type="audit_trail", detail=detail
        )

    async with hub.engine.begin() as conn:
        plan = await seal_prune(conn, signer(hub), cutoff, record, archived_only=archived_only)
    if plan.unarchived:
        log.warning(
            "%d audit entries are past their retention but kept: no archive covers them; "
            "write one with `hub audit export --before %s -o FILE`, or set "
            "archive_before_prune = false in [retention]",
            plan.unarchived,
            cutoff.date().isoformat(),
        )
    await delete_pruned(hub.engine, hub.settings.retention.batch_size)
    return plan.count


async def archive_trail(hub: Hub, before: datetime, out: TextIO) -> dict[str, Any]:
    """Write the entries older than ``before``, up to the largest signed checkpoint that
    covers only such entries, as an archive bundle the offline verifier checks on its own:
    the entries, the checkpoints up to its end, the pruned subtrees before it, and a
    consistency proof from its end to a head signed now. The archive (range, SHA-256 of the
    file) is then recorded on the trail, which is what lets retention prune that range."""
    await authorize(hub, "audit.export", action="audit.export")
    async with hub.engine.begin() as conn:
        await record_action(
            hub, conn, "audit.export", detail={"format": "bundle", "before": iso(before)}
        )
        signed = await make_checkpoint(conn, signer(hub))
    async with hub.engine.connect() as conn:
        plan = await plan_prune(conn, before)
        if plan.count == 0:
            raise ConfigError(
                f"--before {before.date().isoformat()}: no entries older than it are covered "
                "by a signed checkpoint that has no newer ones; nothing to archive"
            )
        checkpoints = [cp for cp in await all_checkpoints(conn) if int(cp["size"]) <= plan.up_to]
        await _check_range(conn, signer(hub).public_key, checkpoints, plan.up_to)
        leaves = await leaf_hashes(conn, int(signed["size"]), from_entries=True)
        end = next(cp for cp in reversed(checkpoints) if int(cp["size"]) == plan.up_to)
        header = {
            "format": BUNDLE_FORMAT,
            "public_key": signer(hub).public_key_b64,
            "checkpoints": checkpoints,
            "pruned": await pruned_subtrees(conn),
            "archive": {"from": plan.after + 1, "to": plan.up_to, "before": iso(before)},
            "extends": {
                "old_size": plan.up_to,
                "old_root": end["root"],
                "size": int(signed["size"]),
                "root": signed["root"],
                "path": [h.hex() for h in consistency_path(plan.up_to, leaves)],
                "checkpoint": signed,
            },
        }
        digest = hashlib.sha256()

        def write(line: str) -> None:
            out.write(line)
            digest.update(line.encode())

        write(json.dumps(header, sort_keys=True) + "\n")
        async for entry in stored_entries(conn, up_to=plan.up_to):
            write(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")
    out.flush()
    archived = {
        "from": plan.after + 1,
        "to": plan.up_to,
        "before": iso(before),
        "entries": plan.count,
        "sha256": digest.hexdigest(),
    }
    async with hub.engine.begin() as conn:
        await record_action(hub, conn, ARCHIVE_ACTION, target_type="audit_trail", detail=archived)
    return archived
