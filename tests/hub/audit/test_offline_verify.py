"""The offline verifier, run as an auditor would: a copy of one file, in a subprocess, on a
bundle exported from a real hub. It accepts the export and rejects every tampered variant,
naming the first bad entry."""

from __future__ import annotations

import ast
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import hub.audit.offline_verify as offline
from hub.audit.signing import load_signer
from hub.runtime import Hub
from hub.services import principals
from hub.services.audit import checkpoint, export_trail
from hub.services.secrets import set_secret

Lines = list[str]


def test_the_verifier_imports_nothing_from_the_hub() -> None:
    tree = ast.parse(Path(offline.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [name for name in imported if name.split(".")[0] == "hub"]


@pytest.fixture
async def exported(hub: Hub, tmp_path: Path) -> tuple[Path, Path, Lines]:
    """A copy of the verifier, a kept checkpoint and the lines of a bundle from a hub that
    did a few things."""
    await set_secret(hub, "zd-token", "value-one")
    await principals.add(hub, "ana", "agent")
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(await checkpoint(hub)), encoding="utf-8")
    for i in range(5):
        await set_secret(hub, f"s{i}", f"value-{i}")
    out = io.StringIO()
    await export_trail(hub, "bundle", out)
    verifier = tmp_path / "auditor" / "offline_verify.py"
    verifier.parent.mkdir()
    shutil.copy(offline.__file__, verifier)
    return verifier, kept, out.getvalue().splitlines()


def run_verifier(verifier: Path, lines: Lines, kept: Path) -> subprocess.CompletedProcess[str]:
    bundle = verifier.parent / "bundle.jsonl"
    bundle.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(verifier), str(bundle), "--checkpoint", str(kept)],
        capture_output=True,
        text=True,
        cwd=verifier.parent,
        timeout=60,
        check=False,
    )


async def test_the_verifier_accepts_a_real_export(exported: tuple[Path, Path, Lines]) -> None:
    verifier, kept, lines = exported
    done = run_verifier(verifier, lines, kept)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"ok: {len(lines) - 1} entries")


def _edit(lines: Lines, number: int, **changes: object) -> Lines:
    entry = json.loads(lines[number])
    entry.update(changes)
    return [*lines[:number], json.dumps(entry), *lines[number + 1 :]]


def _rewritten_with_another_key(lines: Lines, tmp: Path) -> Lines:
    """Everything recomputed by someone who has the database but not the signing key."""
    forger = load_signer(tmp / "forger.key")
    entries = [json.loads(line) for line in lines[1:]]
    entries[2]["action"] = "nothing.happened"
    frontier = offline.Frontier()
    for e in entries:
        e["leaf_hash"] = offline.leaf_hash(offline.canonical(e)).hex()
        frontier.append(bytes.fromhex(e["leaf_hash"]))
    at = "2026-12-02T00:00:00.000000Z"
    root = frontier.root().hex()
    header = {
        "format": offline.BUNDLE_FORMAT,
        "public_key": forger.public_key_b64,
        "checkpoints": [
            {
                "size": len(entries),
                "root": root,
                "at": at,
                "signature": forger.sign(len(entries), root, at),
            }
        ],
    }
    return [json.dumps(header), *map(json.dumps, entries)]


TAMPERINGS: dict[str, Callable[[Lines], Lines]] = {
    "a field changed": lambda lines: _edit(lines, 3, purpose="nothing to see"),
    "an entry deleted": lambda lines: [*lines[:3], *lines[4:]],
    "an entry inserted": lambda lines: [*lines[:3], lines[2], *lines[3:]],
    "two entries swapped": lambda lines: [*lines[:2], lines[3], lines[2], *lines[4:]],
    "the tail truncated": lambda lines: lines[:2],
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
async def test_the_verifier_rejects_a_tampered_export(
    exported: tuple[Path, Path, Lines], tampering: str
) -> None:
    verifier, kept, lines = exported
    done = run_verifier(verifier, TAMPERINGS[tampering](lines), kept)
    assert done.returncode == 1
    assert done.stdout.startswith("FAILED: ") and "entr" in done.stdout


async def test_the_verifier_rejects_a_rewrite_signed_with_another_key(
    exported: tuple[Path, Path, Lines], tmp_path: Path
) -> None:
    verifier, kept, lines = exported
    done = run_verifier(verifier, _rewritten_with_another_key(lines, tmp_path), kept)
    assert done.returncode == 1 and "another key" in done.stdout
