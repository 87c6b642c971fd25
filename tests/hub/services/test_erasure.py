"""Erasure by crypto-shredding: a forgotten customer is gone from every read path, stays gone
through re-syncs and key rotations, and the forget itself is audited without a personal value.

Person p2 of the memory source has cases c2, c42 and c82 (``person_id`` = p2)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest
import sqlalchemy as sa

from hub.audit import customer_pseudonym
from hub.config import Settings
from hub.connector import OutboundMessage
from hub.errors import AccessDenied, ConfigError
from hub.models import Address
from hub.runtime import Hub
from hub.services.cases import update_customer_address
from hub.services.check import check_store
from hub.services.customers import CustomerForgotten, find_customers, show_customer
from hub.services.erasure import forget_customer
from hub.services.keys import rewrap, rotate_keys, take_census
from hub.services.outbox import enqueue
from hub.store.schema import (
    audit_entries,
    blind_index,
    outbox,
    quarantine,
    records,
    subject_keys,
)
from hub.sync import QUARANTINE_TABLE, quarantine_row_key, sync_connection
from hub.testing import MemorySource
from hub.vault import Keyring, open_raw, open_value, record_row, seal_record, unseal_data
from hub.vault.data_key import Erased, SubjectKey
from hub.vault.keyring import Forgotten
from hub.vault.rotation import confirm_primaries
from hub.vault.subjects import (
    load_subject_keys,
    subject_hash,
    subject_identity,
    subject_keys_for,
)
from tests.hub.audit.test_access import act_as, trail
from tests.support import store_snapshot

P2 = ("mem", "person", "p2")
P2_CASES = ("c2", "c42", "c82")


async def _record(hub: Hub, object_type: str, external_id: str) -> Any:
    async with hub.engine.connect() as conn:
        found = (
            await conn.execute(
                sa.select(records).where(
                    records.c.object_type == object_type, records.c.external_id == external_id
                )
            )
        ).first()
    assert found is not None
    return found


async def _forgotten_p2(hub: Hub) -> int:
    await sync_connection(hub, "mem")
    p2 = (await _record(hub, "person", "p2")).id
    await forget_customer(hub, p2, reason="DSR-1 erasure request")
    return int(p2)


async def _opened(hub: Hub, r: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Open a stored record as the store read API does (subject keys loaded first)."""
    row = record_row(r.connection, r.object_type, r.external_id)
    async with hub.engine.connect() as conn:
        await load_subject_keys(conn, hub.keyring, [r.data, r.raw])
    return unseal_data(r.kind, dict(r.data), hub.keyring, row=row), open_raw(
        r.raw, hub.keyring, row=row
    )


async def test_forget_reports_what_it_shredded_and_deleted(hub: Hub, memory: MemorySource) -> None:
    await sync_connection(hub, "mem")
    p2 = (await _record(hub, "person", "p2")).id
    async with hub.engine.connect() as conn:
        index_rows = await conn.scalar(
            sa.select(sa.func.count()).where(blind_index.c.record_id == p2)
        )

    done = await forget_customer(hub, p2, reason="DSR-1 erasure request")

    assert done.shredded == {"case": len(P2_CASES), "customer": 1}
    assert done.index_rows_deleted == index_rows == 2  # one email, one phone
    assert (done.connection, done.object_type, done.external_id) == ("mem", "person", "p2")
    assert not done.already and done.others == []


async def test_a_forgotten_customer_is_unrecoverable_by_every_read_path(
    hub: Hub, memory: MemorySource
) -> None:
    p2 = await _forgotten_p2(hub)

    for reveal in ((), ("emails", "phones")):
        with pytest.raises(CustomerForgotten, match=f"record {p2} .* forgotten on 20"):
            await show_customer(hub, p2, reveal=reveal, purpose="ticket 1")
    assert await find_customers(hub, email="person2@example.com", phone=None) == []
    assert await find_customers(hub, email=None, phone="+1 (415) 555-0002") == []
    for object_type, external_id in [("person", "p2"), *(("case", c) for c in P2_CASES)]:
        with pytest.raises(Erased) as erased:
            await _opened(hub, await _record(hub, object_type, external_id))
        assert "forgotten on 20" in str(erased.value) and "@" not in str(erased.value)
    with pytest.raises(Erased):
        await store_snapshot(hub, "mem")  # the store read API
    # Everyone else still opens, and is still found.
    assert await find_customers(hub, email="person3@example.com", phone=None)
    data, raw = await _opened(hub, await _record(hub, "case", "c3"))
    assert data["subject"] == "Case 3" and raw["id"] == "c3"


async def test_hub_check_counts_erased_values_apart_and_passes(
    hub: Hub, memory: MemorySource
) -> None:
    await _forgotten_p2(hub)

    report = await check_store(hub)

    assert report.ok, report.failures
    assert report.erased == {"records": 1 + len(P2_CASES), "subject_keys": 1}


async def test_forgetting_again_says_when_and_changes_nothing(
    hub: Hub, memory: MemorySource
) -> None:
    p2 = await _forgotten_p2(hub)

    again = await forget_customer(hub, p2, reason="a second request")

    assert again.already and again.shredded == {} and again.erased_at.year >= 2026


async def test_only_a_customer_record_can_be_forgotten(hub: Hub, memory: MemorySource) -> None:
    await sync_connection(hub, "mem")
    case = (await _record(hub, "case", "c2")).id

    with pytest.raises(ConfigError, match="is a case, not a customer"):
        await forget_customer(hub, case, reason="wrong id")
    with pytest.raises(ConfigError, match="--reason"):
        await forget_customer(hub, case, reason="  ")


async def test_the_quarantined_copy_of_a_forgotten_customer_is_deleted(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem")
    p2 = (await _record(hub, "person", "p2")).id
    memory.put("people", {**memory.latest("people")["p2"], "name": 5})  # invalid: quarantined
    await sync_connection(hub, "mem", streams=["people"])
    async with hub.engine.connect() as conn:
        [entry] = (
            await conn.execute(sa.select(quarantine).where(quarantine.c.external_id == "p2"))
        ).all()
    assert entry.raw.startswith("v2:")  # sealed under p2's key, as p2's records are

    done = await forget_customer(hub, p2, reason="DSR-2")

    assert done.quarantine_removed == 1
    async with hub.engine.connect() as conn:
        left = await conn.scalar(sa.select(sa.func.count()).where(quarantine.c.external_id == "p2"))
        await load_subject_keys(conn, hub.keyring, [entry.raw])
    assert left == 0
    with pytest.raises(Erased):  # and a copy taken before (a backup) reads as erased
        open_value(
            entry.raw,
            hub.keyring,
            table=QUARANTINE_TABLE,
            column="raw",
            row=quarantine_row_key("mem", "person", "p2"),
        )


async def test_a_resync_does_not_bring_a_forgotten_customer_back(
    hub: Hub, memory: MemorySource
) -> None:
    p2 = await _forgotten_p2(hub)
    shredded = await _record(hub, "person", "p2")

    # Unchanged at the source, read again from scratch (state reset): not stored, counted.
    [people, cases] = await sync_connection(hub, "mem", full_refresh=True)
    assert people.counters.records_erased == 1
    assert cases.counters.records_erased == len(P2_CASES)
    # Changed at the source: still not stored.
    memory.put("people", {**memory.latest("people")["p2"], "name": "Person Two Again"})
    memory.put("cases", {**memory.latest("cases")["c42"], "subject": "new subject"})
    [people, cases] = await sync_connection(hub, "mem")
    assert (people.counters.records_erased, cases.counters.records_erased) == (1, 1)
    assert people.counters.records_quarantined == 0

    after = await _record(hub, "person", "p2")
    assert (after.id, after.raw, after.data) == (p2, shredded.raw, shredded.data)
    with pytest.raises(Erased):
        await _opened(hub, await _record(hub, "case", "c42"))
    assert await find_customers(hub, email="person2@example.com", phone=None) == []


async def test_a_rotation_and_rewrap_after_a_forget_finish_and_keep_it_forgotten(
    hub: Hub, memory: MemorySource
) -> None:
    p2 = await _forgotten_p2(hub)
    rotated = await rotate_keys(hub, force=True, purposes=("data", "index"))

    outcome = await rewrap(hub)

    old = set(rotated.retired_primaries.values())
    assert outcome.remaining == {} and set(outcome.retired) == old
    census = await take_census(hub)
    assert all(census.of(key_id) == 0 for key_id in old)
    assert census.erased_tokens > 0 and census.forgotten == 1
    with pytest.raises(CustomerForgotten):
        await show_customer(hub, p2)
    assert await find_customers(hub, email="person3@example.com", phone=None)
    assert (await check_store(hub)).ok


async def test_an_index_rotation_changes_neither_subject_hashes_nor_pseudonyms(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem", streams=["people"])
    identity = subject_identity(*P2)
    before = (
        subject_hash(hub.keyring, identity),
        customer_pseudonym(hub.keyring, "mem", "person", "p2"),
    )

    await rotate_keys(hub, force=True, purposes=("data", "index"))
    await rewrap(hub)
    await hub.reload_keyring()

    after = (
        subject_hash(hub.keyring, identity),
        customer_pseudonym(hub.keyring, "mem", "person", "p2"),
    )
    assert after == before
    async with hub.engine.connect() as conn:
        stored = await conn.scalar(
            sa.select(sa.func.count()).where(subject_keys.c.subject_hash == before[0])
        )
    assert stored == 1


async def test_a_forget_by_a_non_admin_is_refused_and_audited_as_denied(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem", streams=["people"])
    p2 = (await _record(hub, "person", "p2")).id
    for role in ("agent", "auditor"):
        await act_as(hub, role)
        with pytest.raises(AccessDenied, match=f"role {role} may not customers forget"):
            await forget_customer(hub, p2, reason="DSR-3")
    hub.actor = None

    denied = await trail(hub, action="customer.forget")
    assert [(e["principal"], e["outcome"]) for e in denied] == [
        ("agent-1", "denied"),
        ("auditor-1", "denied"),
    ]
    assert await find_customers(hub, email="person2@example.com", phone=None)  # not forgotten


async def test_the_forget_entry_names_a_pseudonym_and_counts_never_a_personal_value(
    hub: Hub, memory: MemorySource
) -> None:
    p2 = await _forgotten_p2(hub)

    async with hub.engine.connect() as conn:
        [entry] = (
            await conn.execute(
                sa.select(audit_entries).where(audit_entries.c.action == "customer.forget")
            )
        ).all()
    assert entry.outcome == "success" and entry.target_id == str(p2)
    assert entry.customer == customer_pseudonym(hub.keyring, "mem", "person", "p2")
    assert entry.purpose == "DSR-1 erasure request"
    assert json.loads(entry.detail)["shredded"] == {"case": 3, "customer": 1}
    text = " ".join(str(v) for v in entry._mapping.values())
    for personal in ("person2@example.com", "Person 2", "555-0002", "+14155550002"):
        assert personal not in text


async def test_two_writers_resolving_the_same_new_customer_get_the_same_key(hub: Hub) -> None:
    """Each in its own transaction and keyring, as two processes would; the loser's insert
    does nothing (ON CONFLICT DO NOTHING) and it reads the winner's key."""
    identity = subject_identity("zd", "user", "new-1")

    async def resolve() -> SubjectKey | Forgotten:
        async with hub.engine.connect() as conn:
            keyring = await Keyring.load(conn, hub.master_key)
        async with hub.engine.begin() as conn:
            return (await subject_keys_for(conn, keyring, [identity]))[identity]

    first, second = await asyncio.gather(resolve(), resolve())

    assert isinstance(first, SubjectKey) and isinstance(second, SubjectKey)
    assert (first.id, first.material) == (second.id, second.material)
    async with hub.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(subject_keys)) == 1


async def test_an_address_update_for_a_forgotten_customer_is_refused_before_the_vendor_call(
    hub: Hub, memory: MemorySource
) -> None:
    await _forgotten_p2(hub)

    with pytest.raises(ConfigError, match="customer p2 of mem was forgotten on 20"):
        await update_customer_address(hub, "mem", "p2", Address(city="Porto"))
    # A customer not forgotten gets as far as the connector (which takes no addresses).
    with pytest.raises(ConfigError, match="takes no address updates"):
        await update_customer_address(hub, "mem", "p3", Address(city="Porto"))


_RESOLVE = """
import asyncio, sys
from pathlib import Path
from hub.config import load_settings
from hub.runtime import Hub
from hub.vault.subjects import subject_keys_for

async def main() -> None:
    async with Hub.open(load_settings(Path(sys.argv[1]))) as hub:
        async with hub.engine.begin() as conn:
            keys = await subject_keys_for(conn, hub.keyring, ["zd/user/race-1"])
        print(keys["zd/user/race-1"].id)  # the id only: never key material

asyncio.run(main())
"""


@pytest.mark.slow
async def test_two_processes_resolving_the_same_new_customer_get_the_same_key_id(
    hub: Hub, hub_settings: Settings
) -> None:
    config = hub_settings.home / "hub.toml"
    started = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _RESOLVE, str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]  # fmt: skip
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in started)), 120)

    assert [p.returncode for p in started] == [0, 0], [err.decode() for _, err in outputs]
    ids = {out.decode().strip() for out, _ in outputs}
    assert len(ids) == 1
    async with hub.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(subject_keys)) == 1


async def test_a_customer_stored_before_subject_keys_is_shredded_too(
    hub: Hub, memory: MemorySource
) -> None:
    """A record written by an older hub holds v1 tokens under the data key: forget reseals
    them under the customer's key before destroying it."""
    await sync_connection(hub, "mem", streams=["people"])
    mapping = hub.mapping("memory").stream("people")
    legacy = seal_record(
        mapping.apply(memory.latest("people")["p5"], system="memory", connection="mem"),
        hub.keyring,
    )  # no subject key: v1 tokens, as before this change
    assert legacy.raw.startswith("v1:")
    p5 = (await _record(hub, "person", "p5")).id
    async with hub.engine.begin() as conn:
        await conn.execute(
            records.update().where(records.c.id == p5).values(data=legacy.data, raw=legacy.raw)
        )
        await confirm_primaries(conn, hub.keyring)

    await forget_customer(hub, p5, reason="DSR-5")

    stored = await _record(hub, "person", "p5")
    assert stored.raw.startswith("v2:") and stored.data["emails"].startswith("v2:")
    with pytest.raises(Erased):
        await _opened(hub, stored)
    assert await find_customers(hub, email="person5@example.com", phone=None) == []


async def test_texts_to_a_forgotten_customers_phone_are_cancelled_or_stripped(
    hub: Hub, memory: MemorySource
) -> None:
    await sync_connection(hub, "mem")
    p2 = (await _record(hub, "person", "p2")).id
    texts = {  # p2's phone in another format than the source's, and p3's
        "pending": OutboundMessage(to="+1 415 555 0002", body="Your case is solved"),
        "sent": OutboundMessage(to="+14155550002", body="We got your request"),
        "other": OutboundMessage(to="+14155550003", body="Your case is solved"),
    }
    async with hub.engine.begin() as conn:
        ids = {k: await enqueue(conn, hub.keyring, connection="tw", key=k, message=m)
               for k, m in texts.items()}  # fmt: skip
        await conn.execute(outbox.update().where(outbox.c.id == ids["sent"]).values(status="sent"))

    done = await forget_customer(hub, p2, reason="DSR-1 erasure request")

    async with hub.engine.connect() as conn:
        rows = {r.idempotency_key: r for r in await conn.execute(sa.select(outbox))}
    assert (done.texts_cancelled, done.texts_stripped) == (1, 1)
    assert (rows["pending"].status, rows["pending"].message) == ("cancelled", None)
    assert (rows["sent"].status, rows["sent"].message) == ("sent", None)
    assert rows["other"].status == "pending" and rows["other"].message is not None
