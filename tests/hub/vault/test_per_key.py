"""One object per live key: built once, kept per key object, gone with its key."""

from __future__ import annotations

import gc

from hub.vault.data_key import KEY_BYTES, DataKey
from hub.vault.per_key import PerKey


def _key(n: int) -> DataKey:
    return DataKey(n, "data", bytes([n]) * KEY_BYTES)


def test_each_key_object_gets_its_own_object_built_once() -> None:
    built: list[int] = []

    def build(key: DataKey) -> object:
        built.append(key.id)
        return object()

    per_key: PerKey[DataKey, object] = PerKey(build)
    first, second = _key(1), _key(2)
    assert per_key(first) is per_key(first)
    assert per_key(second) is not per_key(first)
    assert built == [1, 2]


def test_a_key_dropped_takes_its_object_with_it() -> None:
    per_key: PerKey[DataKey, object] = PerKey(lambda key: object())
    kept, dropped = _key(1), _key(2)
    per_key(kept)
    per_key(dropped)
    del dropped
    gc.collect()
    assert len(per_key) == 1
    # A new key object, even where the old one's id is reused, is built afresh.
    assert per_key(_key(3)) is not per_key(kept)
