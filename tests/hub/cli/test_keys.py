"""``hub keys``: an operator rotates, rewraps and reads the status, in JSON and for people."""

from __future__ import annotations

from tests.hub.cli.support import HubCli, memory_hub, ok_json


def test_rotate_then_rewrap_leaves_one_primary_per_purpose_and_the_old_key_retired(
    hub_cli: HubCli,
) -> None:
    memory_hub(hub_cli)
    assert ok_json(hub_cli("sync", "mem", "--json"))
    not_due = ok_json(hub_cli("keys", "rotate", "--json"))
    assert not_due["rotated"] == {} and not_due["not_due"] == ["data"]

    rotated = ok_json(hub_cli("keys", "rotate", "--now", "--json"))
    old, new = rotated["retired_primaries"]["data"], rotated["rotated"]["data"]
    pending = ok_json(hub_cli("keys", "status", "--json"))
    assert pending["rewrap_pending"] is True
    assert {k["id"]: k["state"] for k in pending["keys"]}[old] == "decrypt-only"

    done = ok_json(hub_cli("keys", "rewrap", "--json"))
    assert done["retired"] == [old] and done["remaining"] == {} and done["rewrapped"] > 0

    status = ok_json(hub_cli("keys", "status", "--json"))
    by_id = {k["id"]: k for k in status["keys"]}
    assert (by_id[old]["state"], by_id[old]["census"]) == ("retired", 0)
    assert by_id[new]["state"] == "primary" and by_id[new]["census"] > 0
    assert status["rewrap_pending"] is False
    assert set(by_id[new]) >= {"purpose", "created_at", "age_days", "seals", "max_seals"}


def test_status_for_people_names_each_key_and_its_state(hub_cli: HubCli) -> None:
    memory_hub(hub_cli)
    shown = hub_cli("keys", "status")
    assert shown.exit_code == 0, shown.output
    assert "primary" in shown.stdout and "data" in shown.stdout and "index" in shown.stdout
