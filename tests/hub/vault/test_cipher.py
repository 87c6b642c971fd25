"""Field encryption: v1 and v2 tokens open only with their key, untouched, in their own
context."""

from __future__ import annotations

import base64
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import VaultError
from hub.vault import DataKey, open_token, seal, token_key_id
from hub.vault.data_key import SubjectKey

# TEST-ONLY keys (module constants, because hypothesis tests cannot take function fixtures).
KEY_1 = DataKey(id=1, purpose="data", material=b"\x11" * 32)
KEY_7 = DataKey(id=7, purpose="data", material=b"\x77" * 32, status="active")
KEYS = {1: KEY_1, 7: KEY_7}
CONTEXT = {"table": "records", "column": "data.emails", "row": "zd/user/42"}
SECRET = b"ana@example.com"


def _sealed(plaintext: bytes = SECRET, key: DataKey = KEY_1) -> str:
    return seal(plaintext, key, **CONTEXT)


def _binary(token: str) -> bytes:
    body = token.removeprefix("v1:")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _token(binary: bytes) -> str:
    return "v1:" + base64.urlsafe_b64encode(binary).rstrip(b"=").decode()


def test_a_sealed_value_opens_to_the_same_bytes() -> None:
    assert open_token(_sealed(), KEYS, **CONTEXT) == SECRET


def test_a_token_is_json_safe_text_without_the_plaintext() -> None:
    token = _sealed()

    assert token.startswith("v1:")
    assert set(token[3:]) <= set(string.ascii_letters + string.digits + "-_")
    assert SECRET not in _binary(token)


def test_sealing_twice_gives_different_tokens() -> None:
    assert _sealed() != _sealed()


def test_the_header_names_the_key_that_sealed_it() -> None:
    assert token_key_id(_sealed(key=KEY_7)) == 7
    assert open_token(_sealed(key=KEY_7), KEYS, **CONTEXT) == SECRET


def test_the_reader_looks_up_exactly_the_header_key_once() -> None:
    asked: list[int] = []

    def lookup(key_id: int) -> DataKey:
        asked.append(key_id)
        return KEYS[key_id]

    open_token(_sealed(key=KEY_7), lookup, **CONTEXT)

    assert asked == [7]


def test_an_unknown_key_id_is_a_vault_error_naming_the_column() -> None:
    with pytest.raises(
        VaultError, match=r"records\.data\.emails \(row [^)]*\): data key 7 is not in the keyring"
    ):
        open_token(_sealed(key=KEY_7), {1: KEY_1}, **CONTEXT)


def test_an_index_key_cannot_seal() -> None:
    with pytest.raises(VaultError, match="index key"):
        seal(SECRET, DataKey(id=2, purpose="index", material=b"\x22" * 32), **CONTEXT)


def test_a_key_of_the_wrong_purpose_under_the_header_id_does_not_open() -> None:
    impostor = {1: DataKey(id=1, purpose="index", material=KEY_1.material)}

    with pytest.raises(VaultError):
        open_token(_sealed(), impostor, **CONTEXT)


def test_changing_any_character_of_a_token_fails_to_open() -> None:
    token = _sealed()
    for position, original in enumerate(token):
        for replacement in ("A", "g", "-", "2"):
            if replacement == original:
                continue
            altered = token[:position] + replacement + token[position + 1 :]
            with pytest.raises(VaultError):
                open_token(altered, KEYS, **CONTEXT)


def test_flipping_any_bit_of_the_binary_fails_to_open() -> None:
    binary = _binary(_sealed())
    for position in range(len(binary)):
        for bit in range(8):
            altered = bytearray(binary)
            altered[position] ^= 1 << bit
            with pytest.raises(VaultError):
                open_token(_token(bytes(altered)), KEYS, **CONTEXT)


def test_truncated_or_extended_tokens_fail_to_open() -> None:
    binary = _binary(_sealed())
    for altered in (binary[:-1], binary[:17], binary + b"\x00", b""):
        with pytest.raises(VaultError):
            open_token(_token(altered), KEYS, **CONTEXT)


@pytest.mark.parametrize(
    "moved",
    [
        {"row": "zd/user/43"},
        {"column": "data.phones"},
        {"table": "quarantine"},
        {"row": "zd/user/42 "},
    ],
)
def test_a_token_moved_to_another_row_column_or_table_does_not_open(moved: dict[str, str]) -> None:
    token = _sealed()

    with pytest.raises(VaultError) as caught:
        open_token(token, KEYS, **{**CONTEXT, **moved})

    assert "ana" not in str(caught.value)


def test_context_parts_cannot_be_shifted_across_their_boundary() -> None:
    token = seal(SECRET, KEY_1, table="a|b", column="c", row="r")

    with pytest.raises(VaultError):
        open_token(token, KEYS, table="a", column="b|c", row="r")
    with pytest.raises(VaultError):
        open_token(token, KEYS, table="a|", column="bc", row="r")


def test_the_error_names_table_and_column_but_not_the_content() -> None:
    with pytest.raises(VaultError) as caught:
        open_token(_sealed(), KEYS, **{**CONTEXT, "row": "zd/user/1"})

    assert "records.data.emails" in str(caught.value)
    assert "example" not in str(caught.value)


@pytest.mark.parametrize(
    "not_a_token", [None, 42, b"v1:AAAA", ["v1:"], "v2:AAAA", "ana@example.com"]
)
def test_values_that_are_not_tokens_are_vault_errors(not_a_token: object) -> None:
    with pytest.raises(VaultError):
        open_token(not_a_token, KEYS, **CONTEXT)  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_parsing_arbitrary_text_fails_only_with_vault_error(text: str) -> None:
    with pytest.raises(VaultError):
        open_token(text, KEYS, **CONTEXT)
    with pytest.raises(VaultError):
        open_token("v1:" + text, KEYS, **CONTEXT)


@given(st.binary(max_size=300))
def test_parsing_arbitrary_binary_fails_only_with_vault_error(binary: bytes) -> None:
    with pytest.raises(VaultError):
        open_token(_token(binary), KEYS, **CONTEXT)


@given(st.binary(max_size=300), st.sampled_from([1, 7]))
def test_arbitrary_binary_headed_by_a_known_key_still_fails_only_with_vault_error(
    body: bytes, key_id: int
) -> None:
    with pytest.raises(VaultError):
        open_token(_token(b"\x01" + key_id.to_bytes(4, "big") + body), KEYS, **CONTEXT)


contexts = st.tuples(st.text(max_size=20), st.text(max_size=20), st.text(max_size=40))


@given(st.binary(max_size=500), contexts)
def test_any_bytes_round_trip_in_any_context(
    plaintext: bytes, context: tuple[str, str, str]
) -> None:
    table, column, row = context
    token = seal(plaintext, KEY_1, table=table, column=column, row=row)

    assert open_token(token, KEYS, table=table, column=column, row=row) == plaintext


@given(contexts, contexts)
def test_a_token_opens_in_no_other_context(
    sealed_in: tuple[str, str, str], opened_in: tuple[str, str, str]
) -> None:
    token = seal(SECRET, KEY_1, table=sealed_in[0], column=sealed_in[1], row=sealed_in[2])
    table, column, row = opened_in

    if sealed_in == opened_in:
        assert open_token(token, KEYS, table=table, column=column, row=row) == SECRET
    else:
        with pytest.raises(VaultError):
            open_token(token, KEYS, table=table, column=column, row=row)


# -- v2: a customer's values, under the customer's subject key ---------------------------

SUBJECT_5 = SubjectKey(id=5, material=b"\x55" * 32)
SUBJECTS = {5: SUBJECT_5}.__getitem__


def _v2_binary(token: str) -> bytes:
    body = token.removeprefix("v2:")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _v2_token(binary: bytes) -> str:
    return "v2:" + base64.urlsafe_b64encode(binary).rstrip(b"=").decode()


def test_a_subject_key_seals_a_v2_token_naming_it_that_opens_only_through_subject_keys() -> None:
    token = seal(SECRET, SUBJECT_5, **CONTEXT)

    assert token.startswith("v2:") and _v2_binary(token)[:5] == b"\x02\x00\x00\x00\x05"
    assert token_key_id(token) == 5
    assert open_token(token, KEYS, subjects=SUBJECTS, **CONTEXT) == SECRET
    with pytest.raises(VaultError, match="no subject keys given"):
        open_token(token, KEYS, **CONTEXT)  # data key 5 does not exist: never tried


def test_flipping_any_bit_of_a_v2_token_or_its_context_fails_to_open() -> None:
    binary = _v2_binary(seal(SECRET, SUBJECT_5, **CONTEXT))
    other = {5: SUBJECT_5, 4: SubjectKey(4, b"\x55" * 32), 7: SubjectKey(7, b"\x55" * 32)}
    for position in range(len(binary)):
        for bit in range(8):
            altered = bytearray(binary)
            altered[position] ^= 1 << bit
            with pytest.raises(VaultError):
                open_token(_v2_token(bytes(altered)), KEYS, subjects=other.__getitem__, **CONTEXT)
    for part in CONTEXT:
        moved = {**CONTEXT, part: CONTEXT[part] + "x"}
        with pytest.raises(VaultError, match="does not open"):
            open_token(_v2_token(binary), KEYS, subjects=SUBJECTS, **moved)


def test_a_v1_prefix_on_a_v2_binary_and_the_reverse_are_rejected() -> None:
    v2 = _v2_binary(seal(SECRET, SUBJECT_5, **CONTEXT))
    v1 = _binary(_sealed())

    with pytest.raises(VaultError, match="unknown version 2"):
        open_token(_token(v2), KEYS, subjects=SUBJECTS, **CONTEXT)
    with pytest.raises(VaultError, match="unknown version 1"):
        open_token(_v2_token(v1), KEYS, subjects=SUBJECTS, **CONTEXT)


@given(st.binary(max_size=200))
def test_any_bytes_round_trip_under_a_subject_key(plaintext: bytes) -> None:
    token = seal(plaintext, SUBJECT_5, **CONTEXT)

    assert open_token(token, {}, subjects=SUBJECTS, **CONTEXT) == plaintext
