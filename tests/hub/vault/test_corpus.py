"""The frozen corpus: every ciphertext format ever shipped must still open.

``corpus/v1.json`` and ``corpus/v2.json`` (tokens under a customer's subject key) were
generated once and are never regenerated: if a change to the vault makes these tests fail,
the change breaks existing databases (the Rails 7.1 mistake). A new format version gets its
own corpus file next to this one.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.schema import data_keys
from hub.vault import DataKey, Keyring, blind_index, open_token, token_key_id, unwrap_data_key
from hub.vault.data_key import Erased, SubjectKey

CORPUS = json.loads((Path(__file__).parent / "corpus" / "v1.json").read_text(encoding="utf-8"))
MASTER_KEY = base64.b64decode(CORPUS["master_key_b64"])  # TEST-ONLY, see the corpus warning


def _corpus_keyring() -> Keyring:
    return Keyring(
        DataKey(
            id=entry["id"],
            purpose=entry["purpose"],
            status=entry["status"],
            material=unwrap_data_key(
                entry["wrapped"], MASTER_KEY, key_id=entry["id"], purpose=entry["purpose"]
            ),
        )
        for entry in CORPUS["data_keys"]
    )


def _context(entry: dict[str, Any]) -> dict[str, str]:
    return {"table": entry["table"], "column": entry["column"], "row": entry["row"]}


def test_the_corpus_covers_several_keys_and_tables() -> None:
    assert {token_key_id(entry["token"]) for entry in CORPUS["tokens"]} == {1, 3}
    assert {entry["table"] for entry in CORPUS["tokens"]} >= {"records", "secrets", "quarantine"}


@pytest.mark.parametrize("entry", CORPUS["tokens"], ids=lambda e: f"{e['table']}.{e['column']}")
def test_every_v1_token_still_opens_to_its_plaintext(entry: dict[str, Any]) -> None:
    keyring = _corpus_keyring()

    opened = open_token(entry["token"], keyring.get, **_context(entry))

    assert opened == base64.b64decode(entry["plaintext_b64"])


@pytest.mark.parametrize("entry", CORPUS["blind_indexes"], ids=lambda e: e["value"].strip())
def test_every_v1_blind_index_digest_is_unchanged(entry: dict[str, Any]) -> None:
    key = _corpus_keyring().get(entry["key_id"])

    assert blind_index(entry["kind"], entry["value"], key) == entry["digest"]


async def test_corpus_keys_stored_in_a_database_load_and_open_the_corpus(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            data_keys.insert(),
            [{**entry, "created_at": datetime.now(UTC)} for entry in CORPUS["data_keys"]],
        )
    async with engine.connect() as conn:
        keyring = await Keyring.load(conn, MASTER_KEY)

    assert keyring.key_ids() == [1, 2, 3, 4]  # 4: the "subject" key, created on first load
    assert keyring.primary("data").id == 3
    for entry in CORPUS["tokens"]:
        opened = open_token(entry["token"], keyring.get, **_context(entry))
        assert opened == base64.b64decode(entry["plaintext_b64"])


CORPUS_V2 = json.loads((Path(__file__).parent / "corpus" / "v2.json").read_text(encoding="utf-8"))


def _corpus_subject_key() -> SubjectKey:
    """The v2 corpus's subject key, unwrapped as the hub unwraps subject_keys.wrapped: a v1
    token under data key 3 of the v1 corpus, bound to table subject_keys, column wrapped and
    the row's subject_hash."""
    stored = CORPUS_V2["subject_key"]
    material = open_token(
        stored["wrapped"],
        _corpus_keyring().get,
        table="subject_keys",
        column="wrapped",
        row=stored["subject_hash"],
    )
    return SubjectKey(stored["id"], material)


def test_the_v2_corpus_names_its_subject_key_in_every_header() -> None:
    assert {token_key_id(entry["token"]) for entry in CORPUS_V2["tokens"]} == {7}
    assert all(entry["token"].startswith("v2:") for entry in CORPUS_V2["tokens"])


@pytest.mark.parametrize(
    "entry", CORPUS_V2["tokens"], ids=lambda e: f"{e['table']}.{e['column']}.{e['row']}"
)
def test_every_v2_token_still_opens_to_its_plaintext(entry: dict[str, Any]) -> None:
    key = _corpus_subject_key()

    opened = open_token(entry["token"], {}, subjects={key.id: key}.__getitem__, **_context(entry))

    assert opened == base64.b64decode(entry["plaintext_b64"])


def test_a_v2_token_of_a_destroyed_subject_key_reads_as_erased_naming_its_place() -> None:
    entry = CORPUS_V2["tokens"][0]

    def forgotten(key_id: int) -> SubjectKey:
        raise Erased(key_id, datetime(2026, 12, 2, tzinfo=UTC))

    with pytest.raises(Erased) as erased:
        open_token(entry["token"], {}, subjects=forgotten, **_context(entry))
    message = str(erased.value)
    assert "records.data.emails (row zd/user/1)" in message and "2026-12-02" in message
    assert "@" not in message
