"""The keyring: data keys wrapped in the database, created once, shared by every process."""

from __future__ import annotations

import asyncio
import base64

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.errors import VaultError
from hub.store.schema import data_keys
from hub.vault import Keyring, open_token, seal, unwrap_data_key, wrap_data_key

CONTEXT = {"table": "records", "column": "data.given_name", "row": "zd/user/1"}
OTHER_MASTER_KEY = b"\xee" * 32  # TEST-ONLY


async def _load(engine: AsyncEngine, master_key: bytes, *, create: bool = True) -> Keyring:
    async with engine.connect() as conn:
        return await Keyring.load(conn, master_key, create=create)


async def _stored(engine: AsyncEngine) -> list[tuple[int, str, str, str]]:
    async with engine.connect() as conn:
        query = sa.select(
            data_keys.c.id, data_keys.c.purpose, data_keys.c.status, data_keys.c.wrapped
        ).order_by(data_keys.c.id)
        return [(row[0], row[1], row[2], row[3]) for row in await conn.execute(query)]


async def test_first_load_creates_one_primary_data_index_and_subject_key(
    engine: AsyncEngine, master_key: bytes
) -> None:
    keyring = await _load(engine, master_key)

    assert [(k.id, k.purpose, k.status) for k in map(keyring.get, keyring.key_ids())] == [
        (1, "data", "primary"),
        (2, "index", "primary"),
        (3, "subject", "primary"),
    ]
    assert keyring.primary("data").id == 1
    assert keyring.primary("index").id == 2


async def test_keys_are_stored_wrapped_never_in_clear(
    engine: AsyncEngine, master_key: bytes
) -> None:
    keyring = await _load(engine, master_key)

    for key_id, _, _, wrapped in await _stored(engine):
        material = keyring.get(key_id).material
        assert wrapped.startswith("w1:")
        assert base64.urlsafe_b64encode(material).decode().rstrip("=") not in wrapped
        assert material.hex() not in wrapped


async def test_created_keys_are_committed_for_other_connections(
    engine: AsyncEngine, master_key: bytes
) -> None:
    await _load(engine, master_key)

    assert [(row[0], row[1], row[2]) for row in await _stored(engine)] == [
        (1, "data", "primary"),
        (2, "index", "primary"),
        (3, "subject", "primary"),
    ]


async def test_a_reloaded_keyring_opens_what_the_first_one_sealed(
    engine: AsyncEngine, master_key: bytes
) -> None:
    first = await _load(engine, master_key)
    token = seal(b"Anabela", first.primary("data"), **CONTEXT)

    second = await _load(engine, master_key)

    assert second.key_ids() == first.key_ids()
    assert open_token(token, second.get, **CONTEXT) == b"Anabela"


async def test_the_wrong_master_key_gives_the_clear_error(
    engine: AsyncEngine, master_key: bytes
) -> None:
    await _load(engine, master_key)

    with pytest.raises(VaultError) as caught:
        await _load(engine, OTHER_MASTER_KEY)

    assert str(caught.value) == (
        "the master key does not open data key 1; is HUB_MASTER_KEY / secrets/master.key "
        "the one this database was created with?"
    )


async def test_the_wrong_master_key_creates_nothing(engine: AsyncEngine, master_key: bytes) -> None:
    await _load(engine, master_key)
    async with engine.begin() as conn:
        await conn.execute(data_keys.delete().where(data_keys.c.purpose == "index"))

    with pytest.raises(VaultError):
        await _load(engine, OTHER_MASTER_KEY)

    assert [row[0] for row in await _stored(engine)] == [1, 3]


async def test_a_wrapped_key_moved_to_another_row_does_not_unwrap(
    engine: AsyncEngine, master_key: bytes
) -> None:
    await _load(engine, master_key)
    rows = {row[0]: row[3] for row in await _stored(engine)}
    async with engine.begin() as conn:
        await conn.execute(data_keys.update().where(data_keys.c.id == 1).values(wrapped=rows[2]))

    with pytest.raises(VaultError, match=r"damaged data keys: 1 \(table data_keys\)"):
        await _load(engine, master_key)


async def test_a_tampered_key_among_good_ones_is_named_damaged_not_a_wrong_master_key(
    engine: AsyncEngine, master_key: bytes
) -> None:
    await _load(engine, master_key)
    async with engine.begin() as conn:
        wrapped = await conn.scalar(sa.select(data_keys.c.wrapped).where(data_keys.c.id == 2))
        flipped = wrapped[:-2] + ("A" if wrapped[-2] != "A" else "B") + wrapped[-1]
        await conn.execute(data_keys.update().where(data_keys.c.id == 2).values(wrapped=flipped))

    with pytest.raises(VaultError) as caught:
        await _load(engine, master_key)

    message = str(caught.value)
    assert message.startswith("damaged data keys: 2 (table data_keys); the master key opens")
    assert "data keys 1, 3, so it is the right one" in message
    assert "HUB_MASTER_KEY" not in message
    assert [row[0] for row in await _stored(engine)] == [1, 2, 3]  # nothing replaced or added


async def test_allow_damaged_loads_the_keys_that_open_and_lists_the_others(
    engine: AsyncEngine, master_key: bytes
) -> None:
    first = await _load(engine, master_key)
    rows = {row[0]: row[3] for row in await _stored(engine)}
    async with engine.begin() as conn:
        await conn.execute(data_keys.update().where(data_keys.c.id == 1).values(wrapped=rows[2]))

    async with engine.connect() as conn:
        keyring = await Keyring.load(conn, master_key, allow_damaged=True)

    assert keyring.key_ids() == [2, 3]
    assert keyring.get(2).material == first.get(2).material
    assert list(keyring.damaged) == [1]
    assert "changed or swapped" in keyring.damaged[1]


async def test_allow_damaged_still_refuses_a_master_key_that_opens_nothing(
    engine: AsyncEngine, master_key: bytes
) -> None:
    await _load(engine, master_key)

    async with engine.connect() as conn:
        with pytest.raises(VaultError, match="the master key does not open data key 1; is"):
            await Keyring.load(conn, OTHER_MASTER_KEY, allow_damaged=True)


async def test_without_create_an_empty_database_gives_an_empty_keyring(
    engine: AsyncEngine, master_key: bytes
) -> None:
    keyring = await _load(engine, master_key, create=False)

    assert keyring.key_ids() == []
    assert await _stored(engine) == []
    with pytest.raises(VaultError, match="no primary data key"):
        keyring.primary("data")


async def test_loading_inside_a_transaction_creates_keys_that_commit_with_it(
    engine: AsyncEngine, master_key: bytes
) -> None:
    async with engine.begin() as conn:
        created = await Keyring.load(conn, master_key)

    assert (await _load(engine, master_key)).key_ids() == created.key_ids() == [1, 2, 3]


async def test_concurrent_first_loads_agree_on_the_same_keys(
    engine: AsyncEngine, master_key: bytes
) -> None:
    keyrings = await asyncio.gather(*(_load(engine, master_key) for _ in range(4)))

    assert len(await _stored(engine)) == 3
    for keyring in keyrings:
        assert keyring.key_ids() == [1, 2, 3]
        assert keyring.get(1).material == keyrings[0].get(1).material
        assert keyring.get(2).material == keyrings[0].get(2).material


async def test_an_unknown_key_id_is_a_vault_error(engine: AsyncEngine, master_key: bytes) -> None:
    keyring = await _load(engine, master_key)

    with pytest.raises(VaultError, match="data key 5 is not in this database's keyring"):
        keyring.get(5)


async def test_the_repr_shows_ids_but_no_key_material(
    engine: AsyncEngine, master_key: bytes
) -> None:
    keyring = await _load(engine, master_key)
    key = keyring.primary("data")

    assert repr(keyring) == "Keyring(key_ids=[1, 2, 3])"
    assert key.material.hex() not in repr(key)
    assert repr(key.material) not in repr(key)


def test_a_wrapped_key_relabelled_to_another_purpose_does_not_unwrap(master_key: bytes) -> None:
    wrapped = wrap_data_key(b"\x42" * 32, master_key, key_id=3, purpose="index")

    assert unwrap_data_key(wrapped, master_key, key_id=3, purpose="index") == b"\x42" * 32
    with pytest.raises(VaultError, match="does not open data key 3"):
        unwrap_data_key(wrapped, master_key, key_id=3, purpose="data")
