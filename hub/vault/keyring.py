"""The keyring: every data key of the database, unwrapped into memory with the master key.

Keys are stored wrapped in ``data_keys`` so every node of a cluster shares them. Each purpose
("data", "index", "subject") has one ``primary`` key that seals new values; ``active`` keys
still open old ones and ``retired`` keys are kept only until nothing references them (rotation comes
later and only changes statuses and adds rows, never the formats).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.errors import VaultError
from hub.store.schema import data_keys
from hub.vault.data_key import (
    KEY_BYTES,
    PURPOSES,
    DataKey,
    Erased,
    KeyPurpose,
    KeyRetired,
    KeyStatus,
    SubjectKey,
)
from hub.vault.wrapping import KeyDoesNotOpen, unwrap_data_key, wrap_data_key

_CREATE_ATTEMPTS = 5
_PURPOSES: dict[str, KeyPurpose] = {"data": "data", "index": "index", "subject": "subject"}
_SUBJECT_CACHE = 2048  # unwrapped customer keys kept between batches (each with its cipher)
_STATUSES: dict[str, KeyStatus] = {"primary": "primary", "active": "active", "retired": "retired"}


class Keyring:
    """The unwrapped data keys by id. Build it with :meth:`load`; tests may pass keys."""

    def __init__(
        self,
        keys: Iterable[DataKey],
        damaged: dict[int, str] | None = None,
        retired: Iterable[int] = (),
    ) -> None:
        self._keys = {key.id: key for key in keys}
        self._primaries: dict[str, DataKey] = {}  # by purpose: asked for once per sealed value
        # Keys that did not open (id -> reason); only a keyring loaded with allow_damaged
        # has any, for `hub check` to report.
        self.damaged: dict[int, str] = dict(damaged or {})
        # Retired keys: their material is destroyed, their ids kept to say so on a read.
        self.retired: frozenset[int] = frozenset(retired)
        # Values sealed per key id since the last take_seals(): counted in memory, written to
        # data_keys once per page or write (hub.vault.seal_counter), never per value.
        self._seals: dict[int, int] = {}
        # Customers' subject keys by id, as last read from subject_keys: the key, or when it
        # was erased. Readers load the ids of a batch first (hub.vault.subjects), every time,
        # so a forget in another process is seen by the next batch.
        self._subjects: dict[int, SubjectKey | Forgotten] = {}
        self._wrapped: dict[int, str] = {}
        self._damaged_subjects: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"Keyring(key_ids={self.key_ids()})"

    @classmethod
    async def load(
        cls,
        conn: AsyncConnection,
        master_key: bytes,
        *,
        create: bool = True,
        allow_damaged: bool = False,
    ) -> Keyring:
        """Read and unwrap every data key; with ``create``, add missing primary keys first.

        On an idle ``conn`` new keys are committed before this returns. Inside the caller's
        transaction they are written there (under a savepoint) and become durable when the
        caller commits: seal nothing with this keyring if that transaction rolls back. Two
        processes racing to create the first keys end up with the same ones: the loser's
        INSERT hits the primary key, backs out and re-reads.

        A key that does not open is a VaultError: "wrong master key" when none opens, "these
        keys are damaged" naming them when others do. With ``allow_damaged`` (for `hub
        check`) the keys that open are loaded and the others listed in :attr:`damaged`.
        """
        if conn.in_transaction():
            keys, damaged = await _load_in_transaction(conn, master_key, create=create)
        else:
            keys, damaged = await _load_committed(conn, master_key, create=create)
        if damaged and (not allow_damaged or not keys):
            raise _damage_error(keys, damaged)
        opened = [key for key in keys if key.status != "retired"]
        retired = [key.id for key in keys if key.status == "retired"]
        return cls(
            opened, {key_id: _damage_reason(exc) for key_id, exc in damaged.items()}, retired
        )

    def primary(self, purpose: KeyPurpose) -> DataKey:
        """The key that seals (``"data"``) or indexes (``"index"``) new values."""
        found = self._primaries.get(purpose)
        if found is not None:
            return found
        primaries = [
            k for k in self._keys.values() if k.purpose == purpose and k.status == "primary"
        ]
        if not primaries:
            raise VaultError(f"there is no primary {purpose} key; run `hub init`")
        # Only rotation (later) makes a new primary; should two ever coexist, the newest wins.
        found = self._primaries[purpose] = max(primaries, key=lambda k: k.id)
        return found

    def get(self, key_id: int) -> DataKey:
        """The key with this id (primary or decrypt-only); KeyRetired for a retired key,
        VaultError if this database has no such key."""
        if key_id in self.retired:
            raise KeyRetired(key_id)
        try:
            return self._keys[key_id]
        except KeyError:
            raise VaultError(f"data key {key_id} is not in this database's keyring") from None

    def sealing_key(self) -> DataKey:
        """The primary data key, counting one seal against it (see :meth:`take_seals`)."""
        key = self.primary("data")
        self._seals[key.id] = self._seals.get(key.id, 0) + 1
        return key

    def take_seals(self) -> dict[int, int]:
        """The seals counted per key id since the last call, and start counting afresh."""
        taken, self._seals = self._seals, {}
        return taken

    def add_seals(self, counts: dict[int, int]) -> None:
        """Count seals made elsewhere (a worker process, or a write that rolled back and
        will be retried) against this keyring."""
        for key_id, n in counts.items():
            self._seals[key_id] = self._seals.get(key_id, 0) + n

    def subject_key(self, key_id: int) -> SubjectKey:
        """The subject key ``key_id`` as loaded by :func:`hub.vault.subjects.load_subject_keys`;
        :class:`Erased` if that customer was forgotten, VaultError if it was not loaded."""
        found = self._subjects.get(key_id)
        if isinstance(found, SubjectKey):
            return found
        if isinstance(found, Forgotten):
            raise Erased(key_id, found.erased_at)
        if key_id in self._damaged_subjects:
            raise VaultError(self._damaged_subjects[key_id])
        raise VaultError(f"subject key {key_id} was not loaded before this read")

    def is_forgotten(self, key_id: int) -> bool:
        """Whether subject key ``key_id`` was loaded as erased (its customer forgotten)."""
        return isinstance(self._subjects.get(key_id), Forgotten)

    def subject_damaged(self, key_id: int, reason: str) -> None:
        """Record that subject key ``key_id`` does not open (reads of it fail with ``reason``)."""
        self._subjects.pop(key_id, None)
        self._damaged_subjects[key_id] = reason

    def cached_subject(self, key_id: int, wrapped: str) -> SubjectKey | None:
        """The unwrapped key of ``key_id`` if it is cached from the same wrapped value."""
        found = self._subjects.get(key_id)
        if isinstance(found, SubjectKey) and self._wrapped.get(key_id) == wrapped:
            return found
        return None

    def remember_subjects(self, found: Mapping[int, tuple[SubjectKey, str] | Forgotten]) -> None:
        """Record what subject_keys holds now for these ids (the key and its wrapped form, or
        when it was erased); the oldest entries go once the cache is full."""
        for key_id, value in found.items():
            self._subjects.pop(key_id, None)
            self._damaged_subjects.pop(key_id, None)
            if isinstance(value, Forgotten):
                self._subjects[key_id] = value
                self._wrapped.pop(key_id, None)
            else:
                self._subjects[key_id], self._wrapped[key_id] = value
        while len(self._subjects) > _SUBJECT_CACHE:
            oldest = next(iter(self._subjects))
            del self._subjects[oldest]
            self._wrapped.pop(oldest, None)

    def key_ids(self) -> list[int]:
        """All key ids, ascending."""
        return sorted(self._keys)

    def index_keys(self) -> list[DataKey]:
        """The index keys a blind-index lookup must try (see :meth:`keys`)."""
        return self.keys("index")

    def keys(self, purpose: KeyPurpose) -> list[DataKey]:
        """The non-retired keys of one purpose, primary first: what a blind-index lookup tries."""
        usable = [k for k in self._keys.values() if k.purpose == purpose and k.status != "retired"]
        return sorted(usable, key=lambda k: (k.status != "primary", -k.id))


class Forgotten(NamedTuple):
    """A subject key that was destroyed by `hub customers forget`, and when."""

    erased_at: datetime | None


async def holds_data_keys(conn: AsyncConnection) -> bool:
    """Whether the database has any data key: then only its original master key opens it."""
    found = await conn.execute(sa.select(data_keys.c.id).limit(1))
    return found.first() is not None


class _StoredKey(NamedTuple):
    """One ``data_keys`` row, still wrapped."""

    id: int
    purpose: str
    wrapped: str
    status: str


async def _read_rows(conn: AsyncConnection) -> list[_StoredKey]:
    query = sa.select(
        data_keys.c.id, data_keys.c.purpose, data_keys.c.wrapped, data_keys.c.status
    ).order_by(data_keys.c.id)
    return [_StoredKey(*row) for row in await conn.execute(query)]


def _missing_purposes(rows: Iterable[_StoredKey]) -> list[KeyPurpose]:
    have = {row.purpose for row in rows if row.status == "primary"}
    return [purpose for purpose in PURPOSES if purpose not in have]


_Loaded = tuple[list[DataKey], dict[int, VaultError]]


async def _load_committed(conn: AsyncConnection, master_key: bytes, *, create: bool) -> _Loaded:
    """Read (and create) the keys in transactions of our own, retrying when another won."""
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            keys = await _read_and_create(conn, master_key, create=create)
            await conn.commit()
            return keys
        except sa.exc.DBAPIError as exc:
            await conn.rollback()
            if not _lost_race(conn, exc):
                raise
        except BaseException:
            await conn.rollback()
            raise
        await asyncio.sleep(0.01 * (attempt + 1))
    raise VaultError("could not create the first data keys: other processes kept racing")


async def _load_in_transaction(
    conn: AsyncConnection, master_key: bytes, *, create: bool
) -> _Loaded:
    """Read (and create) the keys in the caller's transaction, under a savepoint so a lost
    race leaves that transaction usable (PostgreSQL aborts it otherwise)."""
    for _ in range(_CREATE_ATTEMPTS):
        try:
            async with conn.begin_nested():
                return await _read_and_create(conn, master_key, create=create)
        except sa.exc.IntegrityError:
            continue
    raise VaultError("could not create the first data keys: other processes kept racing")


async def _read_and_create(conn: AsyncConnection, master_key: bytes, *, create: bool) -> _Loaded:
    """Unwrap the stored keys, then insert a primary key for each purpose that lacks one
    (only when every key opened: a wrong master key or a damaged key writes nothing)."""
    rows = await _read_rows(conn)
    keys: list[DataKey] = []
    damaged: dict[int, VaultError] = {}
    for row in rows:
        try:
            keys.append(_unwrap(row, master_key))
        except VaultError as exc:
            damaged[row.id] = exc
    if damaged:
        return keys, damaged
    next_id = max((row.id for row in rows), default=0) + 1
    missing = _missing_purposes(rows) if create else []
    for key_id, purpose in enumerate(missing, start=next_id):
        keys.append(await insert_key(conn, master_key, key_id, purpose))
    return keys, damaged


def _damage_error(opened: list[DataKey], damaged: dict[int, VaultError]) -> VaultError:
    """What is wrong when some keys did not open: the master key when it opens none, the keys
    themselves when it opens others (so it is the right one)."""
    if not opened:
        return next(iter(damaged.values()))
    names = ", ".join(str(key_id) for key_id in sorted(damaged))
    good = ", ".join(str(key.id) for key in sorted(opened, key=lambda k: k.id))
    return VaultError(
        f"damaged data keys: {names} (table data_keys); the master key opens data keys "
        f"{good}, so it is the right one and these rows were changed or swapped; restore "
        "them from a backup (`hub check` lists the values they seal)"
    )


def _damage_reason(exc: VaultError) -> str:
    if isinstance(exc, KeyDoesNotOpen):
        return "changed or swapped: the master key that opens the other data keys does not open it"
    return str(exc)


def _lost_race(conn: AsyncConnection, exc: sa.exc.DBAPIError) -> bool:
    """Another process inserted the same key id first (or, on SQLite, holds the write lock)."""
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    return conn.dialect.name == "sqlite" and isinstance(exc, sa.exc.OperationalError)


async def insert_key(
    conn: AsyncConnection,
    master_key: bytes,
    key_id: int,
    purpose: KeyPurpose,
    *,
    now: datetime | None = None,
) -> DataKey:
    """Create a new primary key ``key_id`` of ``purpose``, wrapped, in the caller's
    transaction (the caller demotes the old primary first, if there is one)."""
    material = os.urandom(KEY_BYTES)
    await conn.execute(
        data_keys.insert().values(
            id=key_id,
            purpose=purpose,
            wrapped=wrap_data_key(material, master_key, key_id=key_id, purpose=purpose),
            status="primary",
            created_at=now or datetime.now(UTC),
        )
    )
    return DataKey(id=key_id, purpose=purpose, material=material, status="primary")


def _unwrap(row: _StoredKey, master_key: bytes) -> DataKey:
    purpose = _PURPOSES.get(row.purpose)
    status = _STATUSES.get(row.status)
    if purpose is None or status is None:
        raise VaultError(f"data key {row.id} has an unknown purpose or status in data_keys")
    if status == "retired":  # destroyed at retirement: only its id remains
        return DataKey(id=row.id, purpose=purpose, material=bytes(KEY_BYTES), status=status)
    material = unwrap_data_key(row.wrapped, master_key, key_id=row.id, purpose=purpose)
    return DataKey(id=row.id, purpose=purpose, material=material, status=status)
