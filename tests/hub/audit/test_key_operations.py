"""Key operations and retention purges are on the trail, and only an admin may run them."""

from __future__ import annotations

import pytest

from hub.errors import AccessDenied
from hub.runtime import Hub
from hub.services.keys import rotate_keys
from hub.services.retention import run_retention
from tests.hub.audit.test_access import act_as, trail


async def test_a_key_rotation_is_recorded_with_the_new_and_the_old_key(hub: Hub) -> None:
    rotation = await rotate_keys(hub, force=True)

    [rotated] = await trail(hub, action="key.rotate")
    assert rotated["outcome"] == "success" and rotated["fields"] == ["data"]
    assert rotated["detail"]["new"] == {"data": rotation.rotated["data"]}


@pytest.mark.parametrize("role", ["integrator", "agent", "auditor"])
async def test_only_an_admin_may_rotate_keys_or_purge_and_a_refusal_is_recorded(
    hub: Hub, role: str
) -> None:
    await act_as(hub, role)
    with pytest.raises(AccessDenied):
        await rotate_keys(hub, force=True)
    with pytest.raises(AccessDenied):
        await run_retention(hub)

    outcomes = {e["action"]: e["outcome"] for e in await trail(hub, outcome="denied")}
    assert outcomes == {"key.rotate": "denied", "retention.purge": "denied"}
