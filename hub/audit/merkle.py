"""Inclusion and consistency proofs of the audit tree (RFC 9162 2.1.3.1 and 2.1.4.1).

The hashing, the root and the proof checks live in :mod:`hub.audit.offline_verify`, the
file an auditor runs without the hub; this module only builds proofs from the leaf hashes.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.audit.offline_verify import node_hash, tree_root


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the sibling hashes from leaf ``index`` (0-based) up to the root."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    path: list[bytes] = []
    lo, hi, m = 0, len(leaves), index
    # Iterative form of the recursion: descend towards the leaf, collecting the other side.
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(tree_root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(tree_root(leaves[lo : lo + k]))
            lo, m = lo + k, m - k
    path.reverse()  # the recursion emits the deepest sibling first
    return path


def consistency_path(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): the hashes that show the tree of ``old_size`` leaves is a prefix of
    the tree of all ``leaves``; empty for 0 < m == n and for m == 0."""
    if not 0 <= old_size <= len(leaves):
        raise ValueError(f"a tree of {len(leaves)} cannot extend one of {old_size}")
    if old_size in (0, len(leaves)):
        return []
    return _subproof(old_size, leaves, complete=True)


def _subproof(m: int, leaves: Sequence[bytes], *, complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [tree_root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete=complete), tree_root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], complete=False), tree_root(leaves[:k])]


__all__ = ["consistency_path", "inclusion_path", "node_hash", "tree_root"]
