"""The key lifecycle in the database: counting seals, rotating a primary, retiring a key
whose census reached 0, and rewrapping every data key under a new master key.

Every write that seals values calls :func:`confirm_primaries` in its transaction: it adds the
seals it made to the primary's counter and fails with :class:`KeyringStale` if that key is no
longer primary (another process rotated it). The UPDATE locks the primary's row, so a rotation
waits for the write, and a write after the rotation reseals with the new key: nothing is ever
written under a key the rewrap job has already walked past, so a census of 0 stays 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.errors import VaultError
from hub.store.schema import data_keys
from hub.vault.data_key import KeyPurpose
from hub.vault.keyring import Keyring, insert_key
from hub.vault.wrapping import unwrap_data_key, wrap_data_key

# What a retired key's ``wrapped`` column holds: not a w1 value, so nothing can unwrap it.
DESTROYED = "destroyed"


class KeyringStale(VaultError):
    """The keyring sealed with a key that another process has since demoted: reload the
    keyring and seal again."""

    def __init__(self, key_id: int) -> None:
        super().__init__(
            f"data key {key_id} was rotated by another process while this write was being "
            "sealed; nothing was written: run the command again"
        )
        self.key_id = key_id


@dataclass(frozen=True)
class KeyRow:
    """One ``data_keys`` row as `hub keys status` shows it (never the material)."""

    id: int
    purpose: KeyPurpose
    status: str
    created_at: datetime
    seals: int
    retired_at: datetime | None


async def confirm_primaries(conn: AsyncConnection, keyring: Keyring) -> None:
    """Count the keyring's seals against its primaries, in ``conn``'s transaction, and check
    they are still primary; KeyringStale (the seals are counted back) if one is not."""
    seals = keyring.take_seals()
    for purpose in ("data", "index"):
        key = keyring.primary(purpose)
        n = seals.pop(key.id, 0)
        counted = await conn.execute(
            data_keys.update()
            .where(data_keys.c.id == key.id, data_keys.c.status == "primary")
            .values(seals=data_keys.c.seals + n)
        )
        if counted.rowcount != 1 and await _stored(conn, key.id):
            keyring.add_seals({key.id: n, **seals})
            raise KeyringStale(key.id)
    if seals:  # seals under keys that were primary in an older keyring: count them too
        for key_id, n in seals.items():
            await conn.execute(
                data_keys.update()
                .where(data_keys.c.id == key_id)
                .values(seals=data_keys.c.seals + n)
            )


async def _stored(conn: AsyncConnection, key_id: int) -> bool:
    """Whether the database holds key ``key_id`` (a keyring built in memory, as tests do,
    has keys the database does not: there is nothing to count or confirm then)."""
    found = await conn.scalar(sa.select(data_keys.c.id).where(data_keys.c.id == key_id))
    return found is not None


async def key_rows(conn: AsyncConnection) -> list[KeyRow]:
    """Every key of the database, by id."""
    c = data_keys.c
    query = sa.select(c.id, c.purpose, c.status, c.created_at, c.seals, c.retired_at)
    return [KeyRow(*row) for row in await conn.execute(query.order_by(c.id))]


async def rotate_primary(
    conn: AsyncConnection, master_key: bytes, purpose: KeyPurpose, *, now: datetime
) -> int:
    """Make a new primary key of ``purpose`` and demote the old one to decrypt-only, in the
    caller's transaction; return the new key's id. VaultError if another process rotated it
    meanwhile (the demotion finds no primary)."""
    old = await conn.scalar(
        sa.select(data_keys.c.id).where(
            data_keys.c.purpose == purpose, data_keys.c.status == "primary"
        )
    )
    if old is None:
        raise VaultError(f"there is no primary {purpose} key to rotate; run `hub init`")
    demoted = await conn.execute(
        data_keys.update()
        .where(data_keys.c.id == old, data_keys.c.status == "primary")
        .values(status="active")
    )
    if demoted.rowcount != 1:
        raise VaultError(f"the {purpose} key was rotated by another process meanwhile")
    new_id = int(await conn.scalar(sa.select(sa.func.max(data_keys.c.id))) or 0) + 1
    await insert_key(conn, master_key, new_id, purpose, now=now)
    return new_id


async def retire_key(conn: AsyncConnection, key_id: int, *, now: datetime) -> bool:
    """Retire a decrypt-only key and destroy its wrapped material; False if it is not
    decrypt-only (primary, already retired, or absent). The caller has checked its census."""
    retired = await conn.execute(
        data_keys.update()
        .where(data_keys.c.id == key_id, data_keys.c.status == "active")
        .values(status="retired", wrapped=DESTROYED, retired_at=now)
    )
    return retired.rowcount == 1


async def rewrap_under_master(conn: AsyncConnection, old_master: bytes, new_master: bytes) -> int:
    """Rewrap every live data key under ``new_master`` in the caller's transaction: a master
    key rotation touches these rows only, never a sealed value. Returns how many."""
    c = data_keys.c
    rows = await conn.execute(sa.select(c.id, c.purpose, c.wrapped).where(c.status != "retired"))
    count = 0
    for key_id, purpose, wrapped in rows.all():
        material = unwrap_data_key(wrapped, old_master, key_id=key_id, purpose=purpose)
        rewrapped = wrap_data_key(material, new_master, key_id=key_id, purpose=purpose)
        await conn.execute(data_keys.update().where(c.id == key_id).values(wrapped=rewrapped))
        count += 1
    return count
