"""The subtrees pruning keeps are enough: for any checkpoints and any prune point at one of
them, every proof of a kept entry and every consistency proof from a checkpoint to a later
head comes out the same as from the whole tree, and the pruned subtrees fold to every
pruned checkpoint's root."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.audit.merkle import StoredTree, aligned_subtrees, consistency_path, inclusion_path
from hub.audit.offline_verify import Frontier, leaf_hash, tree_root

LEAVES = [leaf_hash(str(i).encode()) for i in range(90)]


def pruned_tree(checkpoints: list[int], prune_at: int, size: int) -> StoredTree:
    """What the hub keeps of a tree of ``size`` leaves pruned up to ``prune_at``."""
    bounds = sorted({0, prune_at, *(c for c in checkpoints if c < prune_at)})
    subtrees = {
        (start, width): tree_root(LEAVES[start : start + width])
        for lo, hi in pairwise(bounds)
        for start, width in aligned_subtrees(lo, hi)
    }
    return StoredTree(LEAVES[prune_at:size], first=prune_at, subtrees=subtrees)


@st.composite
def pruned_trails(draw: st.DrawFn) -> tuple[list[int], int, int]:
    size = draw(st.integers(2, len(LEAVES)))
    checkpoints = sorted(draw(st.sets(st.integers(1, size - 1), min_size=1, max_size=6)))
    prune_at = draw(st.sampled_from(checkpoints))
    return checkpoints, prune_at, size


def test_aligned_subtrees_tile_a_stretch_with_the_fewest_perfect_aligned_subtrees() -> None:
    assert aligned_subtrees(0, 11) == [(0, 8), (8, 2), (10, 1)]
    assert aligned_subtrees(5, 16) == [(5, 1), (6, 2), (8, 8)]
    assert aligned_subtrees(3, 3) == []


@settings(max_examples=150, deadline=None)
@given(pruned_trails())
def test_proofs_after_pruning_are_those_of_the_whole_tree(
    trail: tuple[list[int], int, int],
) -> None:
    checkpoints, prune_at, size = trail
    tree = pruned_tree(checkpoints, prune_at, size)
    whole = LEAVES[:size]
    for index in range(prune_at, size):
        assert inclusion_path(index, tree) == inclusion_path(index, whole)
    for old in [c for c in checkpoints if c <= size] + list(range(prune_at, size + 1)):
        assert consistency_path(old, tree) == consistency_path(old, whole)
        assert tree.root(0, old) == tree_root(LEAVES[:old])


@settings(max_examples=100, deadline=None)
@given(pruned_trails())
def test_the_pruned_subtrees_fold_to_every_pruned_checkpoints_root(
    trail: tuple[list[int], int, int],
) -> None:
    checkpoints, prune_at, _ = trail
    bounds = sorted({0, prune_at, *(c for c in checkpoints if c < prune_at)})
    frontier = Frontier()
    for lo, hi in pairwise(bounds):
        for start, width in aligned_subtrees(lo, hi):
            frontier.append_subtree(tree_root(LEAVES[start : start + width]), width)
        assert frontier.root() == tree_root(LEAVES[:hi])
