"""The census: how many stored values each key protects, at any time, from token headers
and index rows only (nothing is decrypted). A decrypt-only key retires when its census is 0."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hub.runtime import Hub
from hub.services.sealed_tables import BATCH, TARGETS, last_key, record_tokens
from hub.store.schema import blind_index, records, subject_keys
from hub.vault.cipher import header_key_id, header_subject_id
from hub.vault.subjects import ERASED_HASH


@dataclass
class Census:
    """How many stored values each key protects: sealed tokens for data keys; blind-index
    rows and content hashes for index keys (``unrecorded``: hashes of records written before
    the hash key was recorded, which the rewrap rehashes)."""

    tokens: Counter[int] = field(default_factory=Counter)
    index_rows: Counter[int] = field(default_factory=Counter)
    hashes: Counter[int] = field(default_factory=Counter)
    unrecorded: int = 0
    # v2 tokens, under customers' subject keys rather than a data key: those of live
    # customers, and those of forgotten ones (shredded: their key is destroyed).
    subject_tokens: int = 0
    erased_tokens: int = 0
    subject_keys: int = 0  # live customer keys
    forgotten: int = 0  # tombstones: customers forgotten

    def of(self, key_id: int) -> int:
        return self.tokens[key_id] + self.index_rows[key_id] + self.hashes[key_id]


async def take_census(hub: Hub, *, batch_size: int = 2000) -> Census:
    """Count every stored value by the key that protects it, reading headers only."""
    census = Census()
    async with hub.engine.connect() as conn:
        s = subject_keys.c
        erased = {
            key_id for (key_id,) in await conn.execute(sa.select(s.id).where(s.wrapped.is_(None)))
        }
        census.forgotten = len(erased)
        census.subject_keys = int(
            await conn.scalar(sa.select(sa.func.count()).where(s.wrapped.is_not(None))) or 0
        )
        for target in TARGETS:
            after: str | None = None
            while True:
                batch = await BATCH[target](conn, after, batch_size)
                for key_id in _key_ids(target, batch):
                    census.tokens[key_id] += 1
                for subject_id in _subject_ids(target, batch):
                    if subject_id in erased:
                        census.erased_tokens += 1
                    else:
                        census.subject_tokens += 1
                if len(batch) < batch_size:
                    break
                after = last_key(target, batch)
        b = blind_index.c
        for key_id, n in await conn.execute(
            sa.select(b.key_id, sa.func.count()).group_by(b.key_id)
        ):
            census.index_rows[key_id] += n
        c = records.c
        hashes = sa.select(c.hash_key_id, sa.func.count()).where(
            c.deleted.is_(False), c.raw.is_not(None), c.content_hash != ERASED_HASH
        )
        for key_id, n in await conn.execute(hashes.group_by(c.hash_key_id)):
            if key_id is None:
                census.unrecorded += n
            else:
                census.hashes[key_id] += n
    return census


def _key_ids(target: str, batch: Iterable[Any]) -> Iterable[int]:
    for value in _values(target, batch):
        key_id = header_key_id(value)
        if key_id is not None:
            yield key_id


def _subject_ids(target: str, batch: Iterable[Any]) -> Iterable[int]:
    for value in _values(target, batch):
        key_id = header_subject_id(value)
        if key_id is not None:
            yield key_id


def _values(target: str, batch: Iterable[Any]) -> Iterable[Any]:
    for r in batch:
        if target == "records":
            values: list[Any] = [t.token for t in record_tokens(r)]
        elif target == "connections":
            values = list(dict(r.config).values())
        else:
            values = [_sealed_column(target, r)]
        yield from values


def _sealed_column(target: str, r: Any) -> Any:
    if target == "secrets":
        return r.sealed
    if target == "outbox":
        return r.message
    if target == "subject_keys":
        return r.wrapped
    return r.raw
