"""``hub keys``: key status and census, rotation by policy, the rewrap job, the master key."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.base import console, group, report, say, table_progress, when, with_hub

if TYPE_CHECKING:
    from hub.services.keys import RewrapResult, StatusReport

keys_app = group("keys", "Data keys: status, rotation, re-encryption, the master key.")


@keys_app.command("status")
def keys_status() -> None:
    """Every key: purpose, state, age against the policy, seals, and its census (the values
    it still protects). Example: hub keys status"""
    from hub.services.keys import key_status

    outcome = with_hub(key_status)
    report(
        {
            "keys": [asdict(k) for k in outcome.keys],
            "rewrap_pending": outcome.rewrap_pending,
            "unrecorded_hashes": outcome.unrecorded_hashes,
            "subject_keys": outcome.subject_keys,
        },
        lambda: _print_status(outcome),
    )


def _print_status(outcome: StatusReport) -> None:
    from rich.table import Table

    table = Table("id", "purpose", "state", "created", "age (days)", "seals", "census", "due")
    for k in outcome.keys:
        age = f"{k.age_days:g}" + (f" / {k.max_age_days:g}" if k.max_age_days else "")
        seals = f"{k.seals}" + (f" / {k.max_seals}" if k.max_seals else "")
        table.add_row(
            str(k.id), k.purpose, k.state, when(k.created_at), age, seals, str(k.census),
            k.rotation_due or "-",
        )  # fmt: skip
    console().print(table)
    s = outcome.subject_keys
    if s:
        say(f"subject keys (one per customer, not counted above): {s['live']} live sealing "
            f"{s['tokens']} value(s); {s['forgotten']} forgotten, {s['erased_tokens']} value(s) "
            "erased under them")  # fmt: skip
    if outcome.rewrap_pending:
        say("decrypt-only keys still protect values: run `hub keys rewrap`")


@keys_app.command("rotate")
def keys_rotate(
    now: Annotated[
        bool, typer.Option("--now", help="Rotate even if the policy says not yet.")
    ] = False,
    index: Annotated[
        bool, typer.Option("--index", help="Rotate the blind-index key too (rehashes all).")
    ] = False,
) -> None:
    """Replace the primary data key when it is due (90 days or 2^32 seals, see hub.toml),
    or at once with --now; then run `hub keys rewrap`. Example: hub keys rotate --now"""
    from hub.services.keys import rotate_keys

    purposes: tuple[Any, ...] = ("data", "index") if index else ("data",)
    outcome = with_hub(lambda hub: rotate_keys(hub, force=now, purposes=purposes))
    report(
        asdict(outcome), lambda: _print_rotation(outcome.rotated, outcome.reasons, outcome.not_due)
    )


def _print_rotation(rotated: dict[str, int], reasons: dict[str, str], not_due: list[str]) -> None:
    for purpose, key_id in rotated.items():
        say(f"{purpose} key rotated: key {key_id} is primary ({reasons[purpose]})")
    for purpose in not_due:
        say(f"{purpose} key not due for rotation (use --now to rotate anyway)")
    if rotated:
        say("run `hub keys rewrap` to re-encrypt what the old key protects")


@keys_app.command("rewrap")
def keys_rewrap(
    batch_size: Annotated[
        int | None, typer.Option(help="Rows per transaction (default: rewrap_batch_size).")
    ] = None,
) -> None:
    """Run or resume the re-encryption of everything under decrypt-only keys, online and
    in batches; retire each old key once nothing references it. Example: hub keys rewrap"""
    from hub.services.keys import rewrap

    with table_progress(eta=True) as tell:
        outcome = with_hub(lambda hub: rewrap(hub, batch_size=batch_size, progress=tell))
    report(asdict(outcome), lambda: _print_rewrap(outcome))
    if outcome.remaining:
        raise typer.Exit(1)


def _print_rewrap(outcome: RewrapResult) -> None:
    say(
        f"rewrapped {outcome.rewrapped} values, rehashed {outcome.rehashed} records in "
        f"{outcome.batches} batches ({outcome.skipped} rows changed meanwhile, left as written)"
    )
    if outcome.retired:
        say("retired keys: " + ", ".join(str(k) for k in outcome.retired))
    for key_id, n in outcome.remaining.items():
        say(f"key {key_id} still protects {n} values written meanwhile; run it again")


@keys_app.command("rotate-master")
def keys_rotate_master(
    new_key_file: Annotated[
        Path | None,
        typer.Option(help="The new master key (base64, mode 0600); default: a fresh one."),
    ] = None,
) -> None:
    """Rewrap the data keys under a new master key (instant: no value is re-encrypted).

    With the key file as the source, the new key replaces it; with HUB_MASTER_KEY, set the
    variable to the new key afterwards. Example: hub keys rotate-master
    """
    from hub.services.keys import rotate_master_key_in_place

    outcome = with_hub(lambda hub: rotate_master_key_in_place(hub, new_key_file))
    report(asdict(outcome), lambda: say(outcome.instruction))
