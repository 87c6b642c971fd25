"""Inclusion and consistency proofs as RFC 9162 defines them: genuine ones verify, forged
ones (any hash changed, a hash dropped or added, another position) are rejected."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.audit.merkle import consistency_path, inclusion_path
from hub.audit.offline_verify import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(str(i).encode()) for i in range(70)]


def _flip(h: bytes, bit: int) -> bytes:
    return bytes([h[0] ^ (1 << (bit % 8)), *h[1:]])


def test_the_tree_hashes_as_rfc_9162_says() -> None:
    a, b, c = LEAVES[:3]
    assert tree_root([]) == EMPTY_ROOT
    assert tree_root([a]) == a
    assert tree_root([a, b, c]) == node_hash(node_hash(a, b), c)


@given(n=st.integers(1, 70), data=st.data())
def test_a_genuine_inclusion_proof_verifies(n: int, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, n - 1))
    leaves = LEAVES[:n]
    assert verify_inclusion(i, n, leaves[i], inclusion_path(i, leaves), tree_root(leaves))


@given(n=st.integers(2, 70), data=st.data())
def test_a_forged_inclusion_proof_is_rejected(n: int, data: st.DataObject) -> None:
    leaves = LEAVES[:n]
    i = data.draw(st.integers(0, n - 1))
    path, root = inclusion_path(i, leaves), tree_root(leaves)
    forgery = data.draw(st.sampled_from(["hash", "leaf", "root", "drop", "add", "index"]))
    leaf, index = leaves[i], i
    if forgery == "hash":
        k = data.draw(st.integers(0, len(path) - 1))
        path[k] = _flip(path[k], data.draw(st.integers(0, 7)))
    elif forgery == "leaf":
        leaf = _flip(leaf, 0)
    elif forgery == "root":
        root = _flip(root, 3)
    elif forgery == "drop":
        path.pop(data.draw(st.integers(0, len(path) - 1)))
    elif forgery == "add":
        path.insert(data.draw(st.integers(0, len(path))), LEAVES[69])
    else:
        index = data.draw(st.integers(0, n - 1).filter(lambda j: j != i))
    assert not verify_inclusion(index, n, leaf, path, root)


@given(n=st.integers(1, 70), data=st.data())
def test_a_genuine_consistency_proof_verifies(n: int, data: st.DataObject) -> None:
    m = data.draw(st.integers(0, n))
    leaves = LEAVES[:n]
    proof = consistency_path(m, leaves)
    assert verify_consistency(m, n, proof, tree_root(leaves[:m]), tree_root(leaves))


@given(n=st.integers(2, 70), data=st.data())
def test_a_forged_consistency_proof_is_rejected(n: int, data: st.DataObject) -> None:
    leaves = LEAVES[:n]
    m = data.draw(st.integers(1, n - 1))
    proof, old, new = consistency_path(m, leaves), tree_root(leaves[:m]), tree_root(leaves)
    forgery = data.draw(st.sampled_from(["hash", "old", "new", "drop", "add", "size"]))
    size = m
    if forgery == "hash":
        k = data.draw(st.integers(0, len(proof) - 1))
        proof[k] = _flip(proof[k], data.draw(st.integers(0, 7)))
    elif forgery == "old":
        old = _flip(old, 1)
    elif forgery == "new":
        new = _flip(new, 2)
    elif forgery == "drop":
        proof.pop(data.draw(st.integers(0, len(proof) - 1)))
    elif forgery == "add":
        proof.insert(data.draw(st.integers(0, len(proof))), LEAVES[69])
    else:
        size = data.draw(st.integers(1, n - 1).filter(lambda s: s != m))
    assert not verify_consistency(size, n, proof, old, new)


def test_a_rewritten_prefix_has_no_consistency_proof() -> None:
    leaves = LEAVES[:20]
    rewritten = [*leaves[:5], leaf_hash(b"forged"), *leaves[6:]]
    kept_root = tree_root(leaves[:10])
    proof = consistency_path(10, rewritten)
    assert not verify_consistency(10, 20, proof, kept_root, tree_root(rewritten))
