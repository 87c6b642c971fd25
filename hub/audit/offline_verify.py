"""Verify an exported audit bundle without the hub: ``python offline_verify.py BUNDLE``.

This one file is the whole verifier: it imports only the standard library and, for Ed25519
signatures, ``cryptography``. An auditor copies it out of the hub (or rewrites it from
docs/audit.md) and runs it on a bundle from ``hub audit export --format bundle``; the hub
uses the same functions for ``hub audit verify``, so both answer alike.

The tree is RFC 9162's (Certificate Transparency v2): a leaf hash is
SHA-256(0x00 || canonical entry), an interior node SHA-256(0x01 || left || right), and a tree
of n leaves splits at the largest power of two below n.

    python offline_verify.py bundle.jsonl [--checkpoint kept.json]
    python offline_verify.py inclusion proof.json
    python offline_verify.py consistency proof.json

Exit status 0 when everything verifies, 1 with one line naming what does not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# The fields of an entry that its leaf hash covers, in the canonical serialisation.
ENTRY_FIELDS = (
    "seq",
    "at",
    "principal",
    "role",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "customer",
    "fields",
    "purpose",
    "source",
    "detail",
)
CHECKPOINT_HEADER = "hub-audit-checkpoint/1"
BUNDLE_FORMAT = "hub-audit-bundle/1"


# -- the entry and the tree -------------------------------------------------------------


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes a leaf hashes: the entry's ENTRY_FIELDS as JSON with sorted keys, no spaces,
    ASCII only (``\\uXXXX`` escapes), UTF-8."""
    body = {name: entry.get(name) for name in ENTRY_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


class Frontier:
    """The right edge of a growing tree: the roots of its perfect subtrees, largest first.
    Appending is O(log n) and the root of the whole tree is a fold of the frontier."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        self.size = size
        self.hashes = list(hashes)  # one per set bit of size, from the highest bit down

    def append(self, leaf: bytes) -> None:
        self.append_subtree(leaf, 1)

    def append_subtree(self, root: bytes, size: int) -> None:
        """Append a perfect subtree of ``size`` leaves (a power of two) by its root, as a
        pruned trail keeps them; it must start where a subtree of its size can (the tree's
        size a multiple of it)."""
        if size < 1 or size & (size - 1) or self.size % size:
            raise ValueError(f"a subtree of {size} leaves cannot follow a tree of {self.size}")
        carry = root
        self.size += size
        # Merge with the equal-sized subtrees on the right edge: one per trailing zero of the
        # new size above the subtree's own height.
        merges = (self.size & -self.size).bit_length() - size.bit_length()
        for _ in range(merges):
            carry = node_hash(self.hashes.pop(), carry)
        self.hashes.append(carry)

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root


def tree_root(leaves: Iterable[bytes]) -> bytes:
    """RFC 9162's MTH of the leaf hashes, in one pass."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: whether ``leaf`` is leaf number ``index`` (0-based) of the tree of
    ``size`` leaves whose root is ``root``."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """RFC 9162 2.1.4.2: whether the tree of ``size2`` leaves and root ``root2`` extends the
    tree of ``size1`` leaves and root ``root1``."""
    if size1 < 0 or size2 < size1:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof  # every tree extends the empty one
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is itself a node of the path
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


# -- checkpoints ------------------------------------------------------------------------


def checkpoint_message(size: int, root_hex: str, at: str) -> bytes:
    """What a checkpoint's Ed25519 signature signs: three lines after a header."""
    return f"{CHECKPOINT_HEADER}\nsize {size}\nroot {root_hex}\nat {at}\n".encode()


def checkpoint_signed(checkpoint: dict[str, Any], public_key: bytes) -> bool:
    """Whether ``checkpoint`` (size, root, at, signature) is signed by ``public_key`` (raw
    32 bytes of an Ed25519 public key)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        message = checkpoint_message(int(checkpoint["size"]), checkpoint["root"], checkpoint["at"])
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False
    return True


# -- verifying a trail ------------------------------------------------------------------


@dataclass
class Verdict:
    """What verifying a trail found: ``ok``, or the first problem and the entry it names."""

    ok: bool
    size: int  # entries read
    checked: int  # checkpoints that matched
    problem: str = ""
    first_bad_seq: int | None = None
    # When the problem lies in the part retention pruned: the entries (first, last) whose
    # kept subtree roots do not give a signed root, and those subtrees (start, size).
    pruned_range: tuple[int, int] | None = None
    pruned_subtrees: tuple[tuple[int, int], ...] = ()


class TrailCheck:
    """Checks entries one at a time (so a million need no million in memory) against
    signed checkpoints; :func:`verify_trail` drives it over a whole trail.

    In order: every checkpoint is signed by ``public_key``; the n-th entry has ``seq`` n;
    an entry that carries its ``leaf_hash`` matches its recomputed one; the tree of the first
    ``size`` entries has each checkpoint's root; and no checkpoint is larger than the trail.
    The first failure is the verdict, with the first entry it makes suspect.
    """

    def __init__(self, checkpoints: Sequence[dict[str, Any]], public_key: bytes) -> None:
        self.frontier = Frontier()
        self.checked = 0
        self.last_good = 0
        self.failed: Verdict | None = None
        self.pruned = 0  # entries 1..pruned stand as subtree roots (see feed_pruned)
        self.reached: set[int] = set()  # sizes the tree has had, where checkpoints are checked
        self.marks: dict[int, list[dict[str, Any]]] = {}
        self.unchecked: list[tuple[int, int]] = []  # pruned subtrees since the last good mark
        for cp in checkpoints:
            if not checkpoint_signed(cp, public_key):
                problem = f"the checkpoint at size {cp.get('size')} is not signed by this key"
                self.failed = Verdict(False, 0, 0, problem)
                return
            self.marks.setdefault(int(cp["size"]), []).append(cp)
        for cp in self.marks.get(0, []):
            if cp["root"] != EMPTY_ROOT.hex():
                self.failed = Verdict(False, 0, 0, "the checkpoint at size 0 is not empty", 1)
            self.checked += 1

    def feed_pruned(self, nodes: Iterable[dict[str, Any]]) -> bool:
        """Take the subtree roots that stand for pruned entries (``start``, ``size``,
        ``hash``, in order from 0), before any entry: each checkpoint they reach must have the
        root they give, so the signed checkpoints vouch for what was pruned."""
        for node in nodes:
            if self.failed is not None:
                return False
            start, size = int(node["start"]), int(node["size"])
            if start != self.frontier.size:
                skipped = self.frontier.size + 1
                return self._fail(f"the pruned subtrees skip entry {skipped}", skipped)
            try:
                self.frontier.append_subtree(bytes.fromhex(node["hash"]), size)
            except ValueError as exc:
                return self._fail(f"the pruned subtree at entry {start + 1}: {exc}", start + 1)
            self.unchecked.append((start, size))
            if not self._check_marks(self.frontier.size, first_bad=self.last_good + 1):
                return False
        self.pruned = self.frontier.size
        return self.failed is None

    def _check_marks(self, position: int, *, first_bad: int) -> bool:
        self.reached.add(position)
        for cp in self.marks.get(position, []):
            if cp["root"] != self.frontier.root().hex():
                if self.unchecked:
                    return self._fail_pruned(position)
                problem = (
                    f"the entries 1..{position} do not give the root signed at size {position}: "
                    f"an entry from {first_bad} on was altered, removed or inserted"
                )
                return self._fail(problem, first_bad)
            self.checked += 1
            self.last_good = position
            self.unchecked = []
        return True

    def _fail_pruned(self, position: int) -> bool:
        """A signed root that the pruned subtrees since the last good checkpoint (and the
        kept entries after them, if any) do not give: name those subtrees, which stand for
        the entries pruned in that stretch."""
        first = self.last_good + 1
        end = self.unchecked[-1][0] + self.unchecked[-1][1]
        roots = ", ".join(
            f"entries {a + 1}..{a + n}" if n > 1 else f"entry {a + 1}" for a, n in self.unchecked
        )
        which = "the kept subtree root" if len(self.unchecked) == 1 else "a kept subtree root"
        problem = (
            f"the pruned entries {first}..{end} do not give the root signed at size "
            f"{position}: {which} of {roots} was altered"
        )
        if position > end:
            problem += f", or a kept entry from {end + 1} on"
        self.failed = Verdict(
            False,
            self.frontier.size,
            self.checked,
            problem,
            first,
            (first, end),
            tuple(self.unchecked),
        )
        return False

    def feed(self, entry: dict[str, Any]) -> bool:
        """Take the next entry; False once something failed (see :attr:`failed`)."""
        if self.failed is not None:
            return False
        position = self.frontier.size + 1
        if entry.get("seq") != position:
            problem = f"entry {position} is missing or out of place (found seq {entry.get('seq')})"
            return self._fail(problem, position)
        leaf = leaf_hash(canonical(entry))
        stored = entry.get("leaf_hash")
        if stored is not None and stored != leaf.hex():
            return self._fail(f"entry {position} does not match its leaf hash (altered)", position)
        self.frontier.append(leaf)
        return self._check_marks(position, first_bad=self.last_good + 1)

    def _fail(self, problem: str, first_bad: int) -> bool:
        self.failed = Verdict(False, self.frontier.size, self.checked, problem, first_bad)
        return False

    def finish(self) -> Verdict:
        if self.failed is not None:
            return self.failed
        size = self.frontier.size
        unreached = sorted(s for s in self.marks if 0 < s <= self.pruned and s not in self.reached)
        if unreached:
            problem = (
                f"the checkpoint at size {unreached[0]} falls inside the pruned entries, where "
                "the trail kept no subtree boundary: the hub's checkpoint of that size is missing"
            )
            return Verdict(False, size, self.checked, problem, unreached[0])
        if self.pruned and not any(signed >= self.pruned for signed in self.marks):
            problem = f"no signed checkpoint covers the {self.pruned} pruned entries"
            first = self.last_good + 1
            return Verdict(False, size, self.checked, problem, first, (first, self.pruned))
        beyond = [signed for signed in self.marks if signed > size]
        if beyond:
            problem = (
                f"the trail ends at entry {size} but a checkpoint signed size {max(beyond)}: "
                f"entries from {size + 1} on were removed"
            )
            return Verdict(False, size, self.checked, problem, size + 1)
        return Verdict(True, size, self.checked)


def verify_trail(
    entries: Iterable[dict[str, Any]],
    checkpoints: Sequence[dict[str, Any]],
    public_key: bytes,
    pruned: Iterable[dict[str, Any]] = (),
) -> Verdict:
    """Check a whole trail (entries in stored order, after the subtree roots ``pruned``
    left of the entries pruned before them); see :class:`TrailCheck`."""
    check = TrailCheck(checkpoints, public_key)
    check.feed_pruned(pruned)
    for entry in entries:
        if not check.feed(entry):
            break
    return check.finish()


# -- files ------------------------------------------------------------------------------


def read_bundle(path: str) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """A bundle's header (format, public_key, checkpoints, and ``pruned``: the subtree
    roots that stand for entries pruned by retention) and its entries, read lazily:
    JSON lines, the header first."""
    handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the entries' generator
    header = json.loads(handle.readline())
    if header.get("format") != BUNDLE_FORMAT:
        handle.close()
        raise ValueError(f"{path}: not a {BUNDLE_FORMAT} file")

    def entries() -> Iterator[dict[str, Any]]:
        with handle:
            for number, line in enumerate(handle, start=2):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    raise ValueError(f"{path}:{number}: not a JSON entry") from None

    return header, entries()


def _hashes(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def check_bundle(path: str, kept: dict[str, Any] | None = None) -> Verdict:
    """Verify a bundle, also against a checkpoint the auditor kept (which must be signed by
    the same key the bundle names, and by the key it names itself)."""
    header, entries = read_bundle(path)
    public_key = base64.b64decode(header["public_key"])
    checkpoints = list(header.get("checkpoints", []))
    if kept is not None:
        if kept.get("public_key") not in (None, header["public_key"]):
            return Verdict(False, 0, 0, "the kept checkpoint was signed by another key", None)
        checkpoints.append(kept)
    check = TrailCheck(checkpoints, public_key)
    check.feed_pruned(header.get("pruned", []))
    for entry in entries:
        if not check.feed(entry):
            break
    verdict = check.finish()
    if verdict.ok and "archive" in header:
        return _check_archive(header, check, public_key) or verdict
    return verdict


def _check_archive(header: dict[str, Any], check: TrailCheck, public_key: bytes) -> Verdict | None:
    """An archive (``hub audit export --before``) must hold exactly its range ``from``..``to``,
    end on a signed checkpoint, and, when it carries ``extends``, be a prefix of the later
    signed head there (a consistency proof). None when it is; else the failed verdict."""
    archive, size = header["archive"], check.frontier.size
    failed = Verdict(False, size, check.checked)
    if int(archive["to"]) != size or int(archive["from"]) != check.pruned + 1:
        failed.problem = (
            f"the archive says entries {archive['from']}..{archive['to']} "
            f"but holds {check.pruned + 1}..{size}"
        )
        failed.first_bad_seq = size + 1
        return failed
    if size not in check.marks:
        failed.problem = f"no signed checkpoint ends the archive at entry {size}"
        return failed
    extends = header.get("extends")
    if extends is None:
        return None
    try:
        later = extends["checkpoint"]
        extended = (
            checkpoint_signed(later, public_key)
            and int(extends["old_size"]) == size
            and extends["old_root"] == check.frontier.root().hex()
            and (int(later["size"]), later["root"]) == (int(extends["size"]), extends["root"])
            and check_consistency(extends)
        )
    except (KeyError, TypeError, ValueError):
        extended = False
    if not extended:
        failed.problem = (
            f"the archive's entries 1..{size} are not a prefix of the signed head of size "
            f"{extends.get('size')} (its consistency proof does not verify)"
        )
        return failed
    return None


def check_inclusion(proof: dict[str, Any]) -> bool:
    """An inclusion proof file: entry (or its leaf_hash), index, size, root, path."""
    leaf = (
        leaf_hash(canonical(proof["entry"]))
        if "entry" in proof
        else bytes.fromhex(proof["leaf_hash"])
    )
    return verify_inclusion(
        int(proof["index"]),
        int(proof["size"]),
        leaf,
        _hashes(proof["path"]),
        bytes.fromhex(proof["root"]),
    )


def check_consistency(proof: dict[str, Any]) -> bool:
    """A consistency proof file: old_size, old_root, size, root, path."""
    return verify_consistency(
        int(proof["old_size"]),
        int(proof["size"]),
        _hashes(proof["path"]),
        bytes.fromhex(proof["old_root"]),
        bytes.fromhex(proof["root"]),
    )


def _load_json(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        value = json.load(handle)
    if not isinstance(value, dict):
        raise ValueError(f"{path}: not a JSON object")
    return value


def main(argv: Sequence[str]) -> int:
    usage = __doc__.split("\n\n")[3] if __doc__ else ""
    try:
        if len(argv) == 2 and argv[0] == "inclusion":
            ok = check_inclusion(_load_json(argv[1]))
            print("inclusion proof verifies" if ok else "inclusion proof does NOT verify")
            return 0 if ok else 1
        if len(argv) == 2 and argv[0] == "consistency":
            ok = check_consistency(_load_json(argv[1]))
            print("consistency proof verifies" if ok else "consistency proof does NOT verify")
            return 0 if ok else 1
        if len(argv) in (1, 3) and (len(argv) == 1 or argv[1] == "--checkpoint"):
            kept = _load_json(argv[2]) if len(argv) == 3 else None
            verdict = check_bundle(argv[0], kept)
        else:
            print(usage, file=sys.stderr)
            return 2
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if verdict.ok:
        print(f"ok: {verdict.size} entries, {verdict.checked} signed checkpoint(s) match")
        return 0
    print(f"FAILED: {verdict.problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
