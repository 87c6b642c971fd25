"""``hub audit``: list, export, verify and prove the audit trail; sign checkpoints."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.base import console, fail, group, print_json, report, say, state, with_hub
from hub.errors import ConfigError

if TYPE_CHECKING:
    from hub.audit.offline_verify import Verdict

audit_app = group("audit", "The tamper-evident audit trail: list, export, verify, prove.")


@audit_app.command("list")
def audit_list(
    principal: Annotated[str | None, typer.Option(help="Only this principal.")] = None,
    role: Annotated[str | None, typer.Option(help="Only this role.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action (customer.reveal).")] = None,
    customer: Annotated[
        str | None, typer.Option(help="Only this customer: a record id or a pseudonym.")
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="success, denied or failure.")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this ISO time (UTC unless given).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this ISO time.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    everything: Annotated[
        bool,
        typer.Option("--all", help="Search the whole trail kept, not only the hot last 3 months."),
    ] = False,
) -> None:
    """Entries of the trail, newest first, filtered; without --since or --all, those of
    the last 3 months (the hot window).

    Example: hub audit list --action customer.reveal --since 2026-12-01
    """
    from hub.services.audit import TrailFilter, list_trail

    where = TrailFilter(principal, role, action, customer, outcome, since, until, everything)
    rows = with_hub(lambda hub: list_trail(hub, where, limit=limit))
    report(rows, lambda: _print_entries(rows))


def _print_entries(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(
        "seq",
        "at",
        "principal",
        "role",
        "action",
        "outcome",
        "resource",
        "customer",
        "fields",
        "purpose",
    )
    for r in rows:
        resource = "/".join(str(v) for v in (r["target_type"], r["target_id"]) if v)
        table.add_row(
            str(r["seq"]),
            r["at"][:19].replace("T", " "),
            r["principal"],
            r["role"],
            r["action"],
            r["outcome"],
            resource,
            (r["customer"] or "")[:12],
            ",".join(r["fields"]),
            r["purpose"] or "",
        )
    console().print(table)
    console().print(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}", highlight=False)


@audit_app.command("export")
def audit_export(
    fmt: Annotated[str, typer.Option("--format", help="csv, jsonl or bundle.")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    before: Annotated[
        str | None,
        typer.Option(
            help="An archive (a bundle) of the entries older than this ISO date, to keep "
            "before retention prunes them; needs -o."
        ),
    ] = None,
) -> None:
    """Export the trail with its integrity fields; a bundle adds the public key and every
    checkpoint, for the offline verifier. With --before, an archive of the oldest entries,
    recorded on the trail so retention may prune them.

    Example: hub audit export --format bundle -o trail.jsonl
    Example: hub audit export --before 2026-01-01 -o archive-2025.jsonl
    """
    from hub.services.audit import export_trail

    if before is not None:
        _archive(_before(before), fmt, output)
        return
    with _opened(output) as out:
        count = with_hub(lambda hub: export_trail(hub, fmt, out))
    if output is not None:
        report(
            {"entries": count, "file": str(output)},
            lambda: say(f"{count} entries written to {output}"),
        )


def _before(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--before: {text!r} is not an ISO 8601 date (2026-01-01)") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _archive(before: datetime, fmt: str, output: Path | None) -> None:
    from hub.services.audit import archive_trail

    if fmt not in ("jsonl", "bundle"):  # jsonl: the option's default
        raise ConfigError(f"--before writes a bundle; --format {fmt} cannot be archived")
    if output is None:
        raise ConfigError("--before needs --output FILE: the archive is recorded with its hash")
    with _opened(output) as out:
        archived = with_hub(lambda hub: archive_trail(hub, before, out))
    report(
        {**archived, "file": str(output)},
        lambda: say(
            f"entries {archived['from']}..{archived['to']} archived to {output} "
            f"(sha256 {archived['sha256'][:16]}...); retention may now prune them"
        ),
    )


def _opened(output: Path | None) -> Any:
    if output is None:
        return nullcontext(sys.stdout)
    try:
        return output.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {output}: {exc.strerror}") from None


def _kept(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--checkpoint: cannot read {path} as JSON: {exc}") from None
    if not isinstance(value, dict) or not {"size", "root", "at", "signature"} <= set(value):
        raise ConfigError(f"--checkpoint: {path} is not an exported checkpoint")
    return value


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None, typer.Option(help="A checkpoint you kept (hub audit checkpoint --export).")
    ] = None,
) -> None:
    """Check every entry against the signed checkpoints (and one you kept); names the first
    entry that does not match and exits 1.

    Example: hub audit verify --checkpoint kept.json
    """
    from hub.services.audit import verify

    kept = _kept(checkpoint)
    verdict = with_hub(lambda hub: verify(hub, kept))
    _report_verdict(verdict)


def _report_verdict(verdict: Verdict) -> None:
    value: dict[str, Any] = {
        "ok": verdict.ok,
        "entries": verdict.size,
        "checkpoints": verdict.checked,
        "problem": verdict.problem or None,
        "first_bad_entry": verdict.first_bad_seq,
    }
    if verdict.pruned_range is not None:  # the problem is in the part retention pruned
        value["pruned_range"] = list(verdict.pruned_range)
        value["pruned_subtrees"] = [list(t) for t in verdict.pruned_subtrees]
    if verdict.ok:
        summary = f"ok: {verdict.size} entries, {verdict.checked} signed checkpoint(s) match"
        report(value, lambda: say(summary))
        return
    if state.json:
        print_json(value)
    fail(f"the audit trail does not verify: {verdict.problem}")


@audit_app.command("checkpoint")
def audit_checkpoint(
    export: Annotated[
        Path | None, typer.Option(help="Also write it to this file, to keep outside the hub.")
    ] = None,
) -> None:
    """Sign the trail's current size and root.

    Example: hub audit checkpoint --export kept-2026-12-02.json
    """
    from hub.services.audit import checkpoint

    signed = with_hub(checkpoint)
    if export is not None:
        _write_json(export, signed, "--export")
    report(
        signed,
        lambda: say(
            f"checkpoint signed: {signed['size']} entries, root "
            f"{signed['root']}" + (f", written to {export}" if export else "")
        ),
    )


@audit_app.command("prove")
def audit_prove(
    entry: Annotated[int, typer.Argument(help="The entry's number (seq).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write it here.")] = None,
) -> None:
    """An inclusion proof of one entry in a freshly signed checkpoint (for offline_verify.py
    inclusion). Example: hub audit prove 42 -o proof.json
    """
    from hub.services.audit import prove_inclusion

    proof = with_hub(lambda hub: prove_inclusion(hub, entry))
    _emit_proof(proof, output, f"entry {entry} is in the tree of {proof['size']} entries")


@audit_app.command("consistency")
def audit_consistency(
    old_head: Annotated[
        str, typer.Argument(help="A kept checkpoint file, or SIZE:ROOT as printed.")
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write it here.")] = None,
) -> None:
    """Prove the trail extends a head you kept (for offline_verify.py consistency); exits 1
    when it does not. Example: hub audit consistency kept.json
    """
    from hub.services.audit import prove_consistency

    size, root = _old_head(old_head)
    proof = with_hub(lambda hub: prove_consistency(hub, size, root))
    _emit_proof(proof, output, f"the tree of {proof['size']} entries extends the head of {size}")


def _old_head(text: str) -> tuple[int, str]:
    path = Path(text)
    if path.is_file():
        kept = _kept(path)
        assert kept is not None
        return int(kept["size"]), str(kept["root"])
    size, _, root = text.partition(":")
    if not size.isdigit() or len(root) != 64:
        raise typer.BadParameter(f"{text!r} is neither a checkpoint file nor SIZE:ROOT")
    return int(size), root


def _write_json(path: Path, value: dict[str, Any], flag: str) -> None:
    try:
        path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{flag}: cannot write {path}: {exc.strerror}") from None


def _emit_proof(proof: dict[str, Any], output: Path | None, summary: str) -> None:
    if output is None:
        sys.stdout.write(json.dumps(proof, indent=2, sort_keys=True) + "\n")
        return
    _write_json(output, proof, "--output")
    report({"file": str(output), **proof}, lambda: say(f"{summary}; proof written to {output}"))
