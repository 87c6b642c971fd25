"""Key operations: status with the census, rotation by policy, the rewrap job, and master key
rotation. One function per operation, each taking the hub and returning a result, so the
audit trail can record each one."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from hub.audit import authorize, record_action
from hub.errors import ConfigError, VaultError
from hub.runtime import Hub, utcnow
from hub.services.census import Census
from hub.services.census import take_census as _take_census
from hub.services.rewrap import RewrapProgress, job_started, reset_progress, run_pass
from hub.vault.data_key import KEY_BYTES, KeyPurpose
from hub.vault.master_key import ENV_VAR, read_master_key_file, write_master_key
from hub.vault.policy import KeyPolicy, rotation_due
from hub.vault.rotation import key_rows, retire_key, rewrap_under_master, rotate_primary

Clock = Callable[[], datetime]

# A pass can leave values behind only when another process wrote them under an old keyring
# while it ran; a second pass takes them. More than this means something keeps doing so.
_MAX_PASSES = 3

STATE_NAMES = {"primary": "primary", "active": "decrypt-only", "retired": "retired"}


def key_policy(hub: Hub) -> KeyPolicy:
    """The rotation policy from hub.toml (``data_key_max_age_days``, ``data_key_max_seals``)."""
    s = hub.settings
    return KeyPolicy(
        max_age=timedelta(days=s.data_key_max_age_days), max_seals=s.data_key_max_seals
    )


@dataclass(frozen=True)
class KeyStatus:
    """One key as `hub keys status` shows it; never its material."""

    id: int
    purpose: str
    state: str  # primary | decrypt-only | retired
    created_at: datetime
    age_days: float
    max_age_days: float | None  # the policy's limit (data keys only)
    seals: int
    max_seals: int | None
    census: int  # values it protects now
    rotation_due: str | None  # why the primary must rotate now, if it must


@dataclass(frozen=True)
class StatusReport:
    keys: list[KeyStatus]
    rewrap_pending: bool  # a decrypt-only key still protects values, or a pass is under way
    unrecorded_hashes: int  # records hashed before the hash key was recorded
    # Customers' keys (subject_keys): live ones and the v2 tokens they seal, and the
    # forgotten ones (tombstones) with the tokens left shredded under them.
    subject_keys: dict[str, int] = field(default_factory=dict)


async def key_status(hub: Hub, *, clock: Clock = utcnow) -> StatusReport:
    """Every key with its age against the policy, its seals and its census."""
    await authorize(hub, "keys.manage", action="key.status")
    now = clock()
    policy = key_policy(hub)
    census = await _take_census(hub)
    async with hub.engine.begin() as conn:
        rows = await key_rows(conn)
        started = await job_started(conn)
        await record_action(hub, conn, "key.status")
    keys = []
    for r in rows:
        is_data = r.purpose == "data"
        due = (
            rotation_due(policy, purpose=r.purpose, created_at=r.created_at, seals=r.seals, now=now)
            if r.status == "primary"
            else None
        )
        keys.append(
            KeyStatus(
                id=r.id,
                purpose=r.purpose,
                state=STATE_NAMES.get(r.status, r.status),
                created_at=r.created_at,
                age_days=round((now - r.created_at).total_seconds() / 86400, 1),
                max_age_days=policy.max_age.total_seconds() / 86400 if is_data else None,
                seals=r.seals,
                max_seals=policy.max_seals if is_data else None,
                census=census.of(r.id),
                rotation_due=due,
            )
        )
    pending = started or any(k.state == "decrypt-only" for k in keys)
    subjects = {
        "live": census.subject_keys,
        "tokens": census.subject_tokens,
        "forgotten": census.forgotten,
        "erased_tokens": census.erased_tokens,
    }
    return StatusReport(keys, pending, census.unrecorded, subjects)


async def take_census(hub: Hub) -> Census:
    """Values per key, from token headers and index rows (nothing is decrypted)."""
    return await _take_census(hub)


@dataclass(frozen=True)
class Rotation:
    """What `hub keys rotate` did: new primary ids by purpose, and why."""

    rotated: dict[str, int]  # purpose -> new primary key id
    retired_primaries: dict[str, int]  # purpose -> the key that became decrypt-only
    reasons: dict[str, str]
    not_due: list[str]  # purposes checked and left alone


async def rotate_keys(
    hub: Hub,
    *,
    force: bool = False,
    purposes: tuple[KeyPurpose, ...] = ("data",),
    clock: Clock = utcnow,
) -> Rotation:
    """Rotate each primary of ``purposes`` that the policy says is due (all of them with
    ``force``), in one transaction that also restarts the rewrap job; the hub's keyring is
    reloaded. Other processes pick the new keys up at their next write."""
    await authorize(hub, "keys.manage", action="key.rotate", fields=purposes)
    now = clock()
    policy = key_policy(hub)
    rotated: dict[str, int] = {}
    old: dict[str, int] = {}
    reasons: dict[str, str] = {}
    not_due: list[str] = []
    async with hub.engine.begin() as conn:
        primaries = {r.purpose: r for r in await key_rows(conn) if r.status == "primary"}
        for purpose in purposes:
            current = primaries.get(purpose)
            if current is None:
                raise VaultError(f"there is no primary {purpose} key to rotate; run `hub init`")
            due = rotation_due(
                policy, purpose=purpose, created_at=current.created_at, seals=current.seals, now=now
            )
            if not force and due is None:
                not_due.append(purpose)
                continue
            reasons[purpose] = due or "rotation asked for (--now)"
            rotated[purpose] = await rotate_primary(conn, hub.master_key, purpose, now=now)
            old[purpose] = current.id
        if rotated:
            await reset_progress(conn)
        await record_action(
            hub, conn, "key.rotate", fields=sorted(rotated),
            detail={"new": rotated, "decrypt_only": old, "forced": force, "not_due": not_due},
        )  # fmt: skip
    if rotated:
        await hub.reload_keyring()
    return Rotation(rotated, old, reasons, not_due)


@dataclass
class RewrapResult:
    """What `hub keys rewrap` did."""

    rewrapped: int = 0
    rehashed: int = 0
    skipped: int = 0
    batches: int = 0
    passes: int = 0
    retired: list[int] = field(default_factory=list)
    remaining: dict[int, int] = field(default_factory=dict)  # key id -> census still > 0


async def rewrap(
    hub: Hub,
    *,
    batch_size: int | None = None,
    progress: RewrapProgress | None = None,
    clock: Clock = utcnow,
) -> RewrapResult:
    """Run or resume the rewrap job until every decrypt-only key's census is 0, then retire
    those keys. Safe to kill at any point and run again."""
    await authorize(hub, "keys.manage", action="key.rewrap")
    size = batch_size or hub.settings.rewrap_batch_size
    result = RewrapResult()
    await hub.reload_keyring()  # rotated by another process, perhaps
    for _ in range(_MAX_PASSES):
        if not await _old_keys(hub):
            break
        outcome = await run_pass(hub, batch_size=size, progress=progress)
        result.passes += 1
        result.rewrapped += outcome.rewrapped
        result.rehashed += outcome.rehashed
        result.skipped += outcome.skipped
        result.batches += outcome.batches
        census = await _take_census(hub)
        remaining = {k: census.of(k) for k in await _old_keys(hub) if census.of(k) > 0}
        await _retire_unreferenced(hub, census, result, clock())
        if not remaining:
            result.remaining = {}
            break
        result.remaining = remaining
        async with hub.engine.begin() as conn:  # left behind by a writer: walk again
            await reset_progress(conn)
    async with hub.engine.begin() as conn:
        if not result.remaining:
            await reset_progress(conn)
        await record_action(
            hub, conn, "key.rewrap", outcome="success" if not result.remaining else "failure",
            detail={"rewrapped": result.rewrapped, "rehashed": result.rehashed,
                    "retired": result.retired, "remaining": result.remaining},
        )  # fmt: skip
    await hub.reload_keyring()
    return result


async def _old_keys(hub: Hub) -> list[int]:
    async with hub.engine.connect() as conn:
        return [r.id for r in await key_rows(conn) if r.status == "active"]


async def _retire_unreferenced(
    hub: Hub, census: Census, result: RewrapResult, now: datetime
) -> None:
    for key_id in await _old_keys(hub):
        if census.of(key_id) == 0:
            async with hub.engine.begin() as conn:
                if await retire_key(conn, key_id, now=now):
                    result.retired.append(key_id)


@dataclass(frozen=True)
class MasterRotation:
    rewrapped_keys: int
    instruction: str = ""  # what the operator does next (never the key itself)


async def rotate_master_key(hub: Hub, new_master: bytes) -> MasterRotation:
    """Rewrap every live data key under ``new_master`` in one transaction: instant, whatever
    the size of the store. The caller installs the new key where the hub reads it."""
    await authorize(hub, "keys.manage", action="key.rotate_master")
    if new_master == hub.master_key:
        raise ConfigError("the new master key is the one in use; nothing to rotate")
    async with hub.engine.begin() as conn:
        count = await rewrap_under_master(conn, hub.master_key, new_master)
        await record_action(hub, conn, "key.rotate_master", detail={"rewrapped_keys": count})
    hub.use_master_key(new_master)
    return MasterRotation(count)


async def rotate_master_key_in_place(hub: Hub, new_key_file: Path | None) -> MasterRotation:
    """Rotate to the master key in ``new_key_file`` (or a fresh one) and put it where this
    hub reads it: the key file replaces the old one (written beside it first, so a crash
    leaves ``master.key.new`` holding the key the database now needs); with HUB_MASTER_KEY,
    the operator sets the variable from ``new_key_file``."""
    from_env = ENV_VAR in os.environ
    if from_env and new_key_file is None:
        raise ConfigError(
            f"the master key comes from {ENV_VAR}: give the new one with --new-key-file, "
            f"then set {ENV_VAR} to it"
        )
    new_master = (
        read_master_key_file(new_key_file) if new_key_file is not None else os.urandom(KEY_BYTES)
    )
    key_file = hub.settings.resolved_key_file
    staged = key_file.with_name(key_file.name + ".new")
    if not from_env:
        write_master_key(staged, new_master)
    try:
        outcome = await rotate_master_key(hub, new_master)
    except BaseException:
        if not from_env:
            staged.unlink(missing_ok=True)
        raise
    if from_env:
        return MasterRotation(
            outcome.rewrapped_keys, f"data keys rewrapped; set {ENV_VAR} to the new key now"
        )
    os.replace(staged, key_file)
    return MasterRotation(
        outcome.rewrapped_keys,
        f"data keys rewrapped; {key_file} holds the new master key: back it up now",
    )
