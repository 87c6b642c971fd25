"""Key rotation by policy (age and seal count, on a fake clock), the status and census of
every key, and master key rotation: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from hub.config import Settings
from hub.runtime import Hub
from hub.services.keys import key_status, rotate_keys, rotate_master_key_in_place
from hub.services.secrets import set_secret
from hub.store.schema import data_keys, secrets
from hub.sync import sync_connection
from hub.testing import MemorySource
from hub.vault import get_secret, load_master_key, token_key_id
from tests.hub.services.vault_stores import fill_store, unopened_values
from tests.support import store_snapshot


async def _primary(hub: Hub, purpose: str = "data") -> tuple[int, object]:
    async with hub.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(data_keys.c.id, data_keys.c.created_at).where(
                    data_keys.c.purpose == purpose, data_keys.c.status == "primary"
                )
            )
        ).one()
    return row.id, row.created_at


async def test_the_primary_data_key_rotates_at_90_days_and_not_a_day_before(hub: Hub) -> None:
    key_id, created = await _primary(hub)
    early = await rotate_keys(hub, clock=lambda: created + timedelta(days=89, hours=23))
    assert early.rotated == {} and early.not_due == ["data"]

    due = await rotate_keys(hub, clock=lambda: created + timedelta(days=90))
    new_id, _ = await _primary(hub)
    assert due.rotated == {"data": new_id} and new_id != key_id
    assert "90 days old" in due.reasons["data"]
    states = {k.id: k.state for k in (await key_status(hub)).keys}
    assert states[key_id] == "decrypt-only" and states[new_id] == "primary"


async def test_the_age_limit_comes_from_hub_toml(hub: Hub) -> None:
    hub.settings = hub.settings.model_copy(update={"data_key_max_age_days": 7})
    _, created = await _primary(hub)
    outcome = await rotate_keys(hub, clock=lambda: created + timedelta(days=7))
    assert "data" in outcome.rotated


async def test_the_primary_rotates_once_it_has_sealed_the_configured_number_of_values(
    hub: Hub, memory: MemorySource
) -> None:
    hub.settings = hub.settings.model_copy(update={"data_key_max_seals": 20})
    key_id, _ = await _primary(hub)
    await fill_store(hub)
    status = {k.id: k for k in (await key_status(hub)).keys}
    # Every stored token was sealed by the primary and counted (a page at a time).
    assert status[key_id].seals >= status[key_id].census > 20
    assert status[key_id].rotation_due is not None

    outcome = await rotate_keys(hub)
    assert "sealed" in outcome.reasons["data"] and "limit 20" in outcome.reasons["data"]


async def test_values_sealed_after_a_rotation_use_the_new_key_and_old_ones_still_open(
    hub: Hub, memory: MemorySource
) -> None:
    await fill_store(hub)
    before = await store_snapshot(hub)
    old_id, _ = await _primary(hub)
    outcome = await rotate_keys(hub, force=True)
    new_id = outcome.rotated["data"]

    memory.put("people", {"id": "p-new", "name": "New Person", "email": "new@example.com",
                          "phone": "+14155550199", "tags": [], "deleted": False})  # fmt: skip
    await sync_connection(hub, "mem")

    census = {k.id: k.census for k in (await key_status(hub)).keys}
    assert census[new_id] > 0 and census[old_id] > 0
    assert await unopened_values(hub) == []
    after = await store_snapshot(hub)
    assert {k: v for k, v in after.items() if k in before} == before


async def test_forcing_a_rotation_of_the_index_key_is_separate_from_the_data_key(
    hub: Hub,
) -> None:
    data_id, _ = await _primary(hub, "data")
    index_id, _ = await _primary(hub, "index")
    outcome = await rotate_keys(hub, force=True, purposes=("index",))
    assert set(outcome.rotated) == {"index"}
    assert (await _primary(hub, "data"))[0] == data_id
    assert (await _primary(hub, "index"))[0] != index_id


async def test_status_lists_every_key_with_its_purpose_state_age_seals_and_census(
    hub: Hub, memory: MemorySource
) -> None:
    await fill_store(hub)
    _, created = await _primary(hub)
    report = await key_status(hub, clock=lambda: created + timedelta(days=30))
    by_purpose = {k.purpose: k for k in report.keys}
    data, index = by_purpose["data"], by_purpose["index"]
    assert (data.state, data.age_days, data.max_age_days) == ("primary", 30, 90)
    assert data.max_seals == 2**32 and data.rotation_due is None
    assert data.census > 0 and index.census > 0  # tokens; index rows and content hashes
    assert index.max_age_days is None and not report.rewrap_pending


async def test_rotating_the_master_key_rewraps_the_data_keys_and_nothing_else(
    hub: Hub, hub_settings: Settings, memory: MemorySource
) -> None:
    await fill_store(hub)
    before = await store_snapshot(hub)
    async with hub.engine.connect() as conn:
        wrapped_before = dict(
            (await conn.execute(sa.select(data_keys.c.id, data_keys.c.wrapped))).all()
        )
    old_master = hub.master_key

    outcome = await rotate_master_key_in_place(hub, None)

    assert outcome.rewrapped_keys == len(wrapped_before)
    key_file = hub_settings.resolved_key_file
    assert load_master_key(key_file) != old_master
    assert not key_file.with_name("master.key.new").exists()
    async with Hub.open(hub_settings) as reopened:
        assert await store_snapshot(reopened) == before
        async with reopened.engine.connect() as conn:
            wrapped = dict(
                (await conn.execute(sa.select(data_keys.c.id, data_keys.c.wrapped))).all()
            )
        assert wrapped.keys() == wrapped_before.keys()
        assert all(wrapped[k] != wrapped_before[k] for k in wrapped)


async def test_a_rotation_by_another_process_is_picked_up_by_a_running_hub(
    hub: Hub, hub_settings: Settings
) -> None:
    async with Hub.open(hub_settings) as other:
        await rotate_keys(other, force=True)
        new_id, _ = await _primary(other)
    # This hub still holds the old keyring: its write notices the rotation and seals again.
    await set_secret(hub, "api-token", "s3cret")
    async with hub.engine.connect() as conn:
        sealed = await conn.scalar(sa.select(secrets.c.sealed).where(secrets.c.name == "api-token"))
    assert token_key_id(sealed) == new_id
    async with hub.engine.connect() as conn:
        assert await get_secret(conn, hub.keyring, "api-token") == "s3cret"
