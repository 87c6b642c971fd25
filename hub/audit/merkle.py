"""Inclusion and consistency proofs of the audit tree (RFC 9162 2.1.3.1 and 2.1.4.1).

The hashing, the root and the proof checks live in :mod:`hub.audit.offline_verify`, the
file an auditor runs without the hub; this module only builds proofs, from the leaf hashes
and, once retention pruned the oldest entries, the roots of the subtrees that stand for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.audit.offline_verify import node_hash, tree_root


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


class StoredTree:
    """A tree's hashes as the hub keeps them: the leaf hashes from leaf ``first`` (0-based)
    on, and before it the roots of perfect subtrees, keyed (start, size), left by pruning.

    Every node a proof between kept checkpoints (or of a kept entry) needs is either built
    from kept leaves or made of those subtrees: pruning keeps, per stretch between two
    checkpoints, its largest aligned subtrees (docs/audit.md, "Retention").
    """

    def __init__(
        self,
        leaves: Sequence[bytes],
        *,
        first: int = 0,
        subtrees: Mapping[tuple[int, int], bytes] | None = None,
    ) -> None:
        self.leaves, self.first, self.subtrees = leaves, first, subtrees or {}
        self.size = first + len(leaves)

    def root(self, lo: int, hi: int) -> bytes:
        """MTH of leaves ``lo`` to ``hi`` (exclusive)."""
        if lo >= self.first:
            return tree_root(self.leaves[lo - self.first : hi - self.first])
        kept = self.subtrees.get((lo, hi - lo))
        if kept is not None:
            return kept
        if hi - lo == 1:
            raise ValueError(f"entry {lo + 1} was pruned and no kept subtree stands for it")
        k = _split(hi - lo)
        return node_hash(self.root(lo, lo + k), self.root(lo + k, hi))


def _tree(leaves: Sequence[bytes] | StoredTree) -> StoredTree:
    return leaves if isinstance(leaves, StoredTree) else StoredTree(leaves)


def inclusion_path(index: int, leaves: Sequence[bytes] | StoredTree) -> list[bytes]:
    """PATH(m, D[n]): the sibling hashes from leaf ``index`` (0-based) up to the root."""
    tree = _tree(leaves)
    if not 0 <= index < tree.size:
        raise ValueError(f"leaf {index} is not in a tree of {tree.size}")
    path: list[bytes] = []
    lo, hi, m = 0, tree.size, index
    # Iterative form of the recursion: descend towards the leaf, collecting the other side.
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(tree.root(lo + k, hi))
            hi = lo + k
        else:
            path.append(tree.root(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()  # the recursion emits the deepest sibling first
    return path


def consistency_path(old_size: int, leaves: Sequence[bytes] | StoredTree) -> list[bytes]:
    """PROOF(m, D[n]): the hashes that show the tree of ``old_size`` leaves is a prefix of
    the tree of all ``leaves``; empty for 0 < m == n and for m == 0."""
    tree = _tree(leaves)
    if not 0 <= old_size <= tree.size:
        raise ValueError(f"a tree of {tree.size} cannot extend one of {old_size}")
    if old_size in (0, tree.size):
        return []
    return _subproof(old_size, tree, 0, tree.size, complete=True)


def _subproof(m: int, tree: StoredTree, lo: int, hi: int, *, complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], complete)."""
    n = hi - lo
    if m == n:
        return [] if complete else [tree.root(lo, hi)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, tree, lo, lo + k, complete=complete), tree.root(lo + k, hi)]
    return [*_subproof(m - k, tree, lo + k, hi, complete=False), tree.root(lo, lo + k)]


def aligned_subtrees(lo: int, hi: int) -> list[tuple[int, int]]:
    """The fewest perfect, aligned subtrees (start, size) that tile leaves ``lo`` to ``hi``,
    left to right: what pruning keeps of a stretch between two checkpoints."""
    found: list[tuple[int, int]] = []
    while lo < hi:
        size = lo & -lo if lo else 1 << ((hi - lo).bit_length() - 1)
        while lo + size > hi:
            size >>= 1
        found.append((lo, size))
        lo += size
    return found


__all__ = [
    "StoredTree",
    "aligned_subtrees",
    "consistency_path",
    "inclusion_path",
    "node_hash",
    "tree_root",
]
