"""The frozen corpus: every ciphertext format ever shipped must still open.

``corpus/v1.json`` was generated once and is never regenerated: if a change to the vault makes
these tests fail, the change breaks existing databases (the Rails 7.1 mistake). A new format
version gets its own corpus file next to this one.
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
