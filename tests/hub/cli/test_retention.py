"""`hub retention` as an operator meets it: status and a dry run agree with what a purge then
does, and a bad period in hub.toml is one line naming the key."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub.config import load_settings
from hub.runtime import Hub
from tests.hub.cli.support import HubCli, ok_json, one_line_error
from tests.hub.retention.seed import TYPICAL_PERIODS, seed_store


async def _seed() -> None:
    async with Hub.open(load_settings(Path("hub.toml"))) as hub:
        await seed_store(hub)


def _set_typical_periods() -> None:
    """Write the typical periods into hub.toml's [retention] table, as an operator does."""
    table = "".join(f'{key} = "{period}"\n' for key, period in TYPICAL_PERIODS.items())
    with Path("hub.toml").open("a") as toml:
        toml.write(f"\n[retention]\n{table}")


def _counts(answer: dict[str, object]) -> dict[str, int]:
    types = answer["types"]
    assert isinstance(types, list)
    return {t["data_type"]: t["count"] for t in types}


def test_status_and_dry_run_show_what_a_purge_then_removes(hub_cli: HubCli) -> None:
    assert hub_cli("init").exit_code == 0
    _set_typical_periods()
    asyncio.run(_seed())

    status = ok_json(hub_cli("retention", "status", "--json"))
    dry = ok_json(hub_cli("retention", "run", "--dry-run", "--json"))
    again = ok_json(hub_cli("retention", "run", "--dry-run", "--json"))
    purged = ok_json(hub_cli("retention", "run", "--json"))
    after = ok_json(hub_cli("retention", "status", "--json"))

    due = {s["data_type"]: s["due"] for s in status}
    assert dry["dry_run"] is True and purged["dry_run"] is False
    assert _counts(dry) == _counts(again) == _counts(purged) == due
    assert purged["total"] == sum(due.values()) > 0
    assert {s["data_type"]: s["policy"] for s in status} == {
        "interactions": "2 years",
        "closed_cases": "7 years",
        "raw_payloads": "30 days",
        "quarantine": "90 days",
        "run_history": "1 year",
        "sent_messages": "90 days",
        "audit_trail": "12 months",
    }
    assert [s["due"] for s in after] == [0] * len(after)


def test_people_see_a_table_per_data_type(hub_cli: HubCli) -> None:
    assert hub_cli("init").exit_code == 0
    shown = hub_cli("retention", "status")
    assert shown.exit_code == 0, shown.output
    # A new hub keeps interactions and closed cases until the operator sets their periods.
    assert "interactions" in shown.stdout and "forever" in shown.stdout
    assert "30 days" in shown.stdout
    dry = hub_cli("retention", "run", "--dry-run")
    assert "dry run: 0 due, nothing changed" in dry.stdout


def test_a_bad_period_is_one_line_naming_the_key(hub_cli: HubCli) -> None:
    assert hub_cli("init").exit_code == 0
    with Path("hub.toml").open("a") as toml:
        toml.write('\n[retention]\nclosed_cases = "7 yrs"\n')

    line = one_line_error(hub_cli("retention", "run"))

    assert "retention.closed_cases: '7 yrs' is not a retention period" in line
    assert "forever" in line
