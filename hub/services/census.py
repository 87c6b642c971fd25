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
from hub.store.schema import blind_index, records
from hub.vault.cipher import header_key_id


@dataclass
class Census:
    """How many stored values each key protects: sealed tokens for data keys; blind-index
    rows and content hashes for index keys (``unrecorded``: hashes of records written before
    the hash key was recorded, which the rewrap rehashes)."""

    tokens: Counter[int] = field(default_factory=Counter)
    index_rows: Counter[int] = field(default_factory=Counter)
    hashes: Counter[int] = field(default_factory=Counter)
    unrecorded: int = 0

    def of(self, key_id: int) -> int:
        return self.tokens[key_id] + self.index_rows[key_id] + self.hashes[key_id]


async def take_census(hub: Hub, *, batch_size: int = 2000) -> Census:
    """Count every stored value by the key that protects it, reading headers only."""
    census = Census()
    async with hub.engine.connect() as conn:
        for target in TARGETS:
            after: str | None = None
            while True:
                batch = await BATCH[target](conn, after, batch_size)
                for key_id in _key_ids(target, batch):
                    census.tokens[key_id] += 1
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
            c.deleted.is_(False), c.raw.is_not(None)
        )
        for key_id, n in await conn.execute(hashes.group_by(c.hash_key_id)):
            if key_id is None:
                census.unrecorded += n
            else:
                census.hashes[key_id] += n
    return census


def _key_ids(target: str, batch: Iterable[Any]) -> Iterable[int]:
    for r in batch:
        if target == "records":
            values: list[Any] = [t.token for t in record_tokens(r)]
        elif target == "connections":
            values = list(dict(r.config).values())
        else:
            values = [
                r.sealed if target == "secrets" else r.message if target == "outbox" else r.raw
            ]
        for value in values:
            key_id = header_key_id(value)
            if key_id is not None:
                yield key_id
