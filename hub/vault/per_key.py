"""One crypto object per live key (an AES-GCM cipher, a keyed HMAC), built on first use.

Found by the key object's identity: a ``WeakKeyDictionary`` hashes and compares the frozen
dataclass in Python on every lookup, which cost about as much as the HMAC it found. A key that
is dropped (rotated out, erased) takes its object with it, before its id can be reused.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class PerKey(Generic[K, V]):
    """``per_key(key)``: the object ``build(key)`` made for this very key object."""

    def __init__(self, build: Callable[[K], V]) -> None:
        self._build = build
        self._built: dict[int, V] = {}

    def __call__(self, key: K) -> V:
        built = self._built.get(id(key))
        if built is None:
            built = self._built[id(key)] = self._build(key)
            weakref.finalize(key, self._built.pop, id(key), None)
        return built

    def __len__(self) -> int:
        return len(self._built)
