"""AES-256-GCM field encryption: one personal value in, one self-describing text token out.

Token format v1, as text::

    "v1:" + base64url(binary), without "=" padding

and the binary, byte by byte::

    offset  size  content
    0       1     format version, 0x01
    1       4     key id, uint32 big-endian (the ``data_keys.id`` that sealed it)
    5       12    nonce, random per token
    17      n+16  AES-256-GCM ciphertext of the n plaintext bytes, then the 16-byte tag

The 5-byte header (version, key id) tells a reader which key to use in one lookup, without
trial decryption. The associated data authenticated by GCM is::

    header || lp(table) || lp(column) || lp(row)

where ``lp(s)`` is the uint32 big-endian length of ``s`` in UTF-8 followed by those bytes, so
``("a|b", "c")`` and ``("a", "b|c")`` are different contexts. A token altered anywhere, or
copied to another table, column or row, therefore fails to open. Base64 is parsed strictly
(canonical form only), so no two token strings open to the same value.

Token format v2 seals a customer's values under that customer's own key (crypto-shredding,
see ``docs/security.md`` "Erasure"): text ``"v2:" + base64url(binary)``, and the binary is
laid out exactly as v1 with version byte 0x02, and bytes 1-4 the ``subject_keys.id`` of the
customer's key instead of a data key id. The AAD is built the same way, so it binds the
version and the subject key id too. Once that customer is forgotten their key is destroyed
and opening a v2 token raises :class:`hub.vault.data_key.Erased`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.errors import VaultError
from hub.vault.data_key import MAX_KEY_ID, DataKey, Erased, KeyRetired, SubjectKey
from hub.vault.per_key import PerKey

VERSION = 1
PREFIX = "v1:"
SUBJECT_VERSION = 2
SUBJECT_PREFIX = "v2:"
NONCE_BYTES = 12
TAG_BYTES = 16
_HEADER = struct.Struct(">BI")
_MIN_BINARY = _HEADER.size + NONCE_BYTES + TAG_BYTES
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")

KeySource = Callable[[int], DataKey] | Mapping[int, DataKey]
"""Where :func:`open_token` finds a key by id: a mapping, or a function such as
``Keyring.get``."""

SubjectSource = Callable[[int], SubjectKey]
"""Where :func:`open_token` finds the subject key of a v2 token by id, such as
``Keyring.subject_key``; it raises :class:`Erased` for a forgotten customer's key."""


@dataclass(frozen=True)
class ParsedToken:
    """The parts of a token; ``header`` is the exact bytes that go into the AAD. ``key_id``
    is a data key id for version 1, a subject key id for version 2."""

    version: int
    key_id: int
    header: bytes
    nonce: bytes
    ciphertext: bytes


def length_prefixed(*parts: str) -> bytes:
    """Encode strings unambiguously: each as uint32 length then UTF-8 bytes."""
    out: list[bytes] = []
    for part in parts:
        # surrogatepass: any Python str encodes, and distinct strs stay distinct.
        raw = part.encode("utf-8", "surrogatepass")
        out += (_LENGTH.pack(len(raw)), raw)
    return b"".join(out)  # one copy of a record's canonical text, not three


_LENGTH = struct.Struct(">I")


# One AESGCM object per live key: building one costs more than sealing a short value.
_cipher: PerKey[DataKey | SubjectKey, AESGCM] = PerKey(lambda key: AESGCM(key.material))


@functools.lru_cache(maxsize=256)
def _table_and_column(table: str, column: str) -> bytes:
    # A sync seals thousands of values into the same few columns: encode their names once.
    return length_prefixed(table, column)


def seal(plaintext: bytes, key: DataKey | SubjectKey, *, table: str, column: str, row: str) -> str:
    """Encrypt ``plaintext`` under ``key``, bound to (table, column, row); return a v1 token
    for a data key, a v2 token for a customer's subject key."""
    if isinstance(key, SubjectKey):
        version, prefix = SUBJECT_VERSION, SUBJECT_PREFIX
    elif key.purpose != "data":
        raise VaultError(f"key {key.id} is an {key.purpose} key; only data keys seal values")
    else:
        version, prefix = VERSION, PREFIX
    header = _HEADER.pack(version, key.id)
    nonce = os.urandom(NONCE_BYTES)
    aad = header + _table_and_column(table, column) + length_prefixed(row)
    ciphertext = _cipher(key).encrypt(nonce, plaintext, aad)
    binary = header + nonce + ciphertext
    return prefix + base64.urlsafe_b64encode(binary).rstrip(b"=").decode("ascii")


def open_token(
    token: str,
    keys: KeySource,
    *,
    table: str,
    column: str,
    row: str,
    subjects: SubjectSource | None = None,
) -> bytes:
    """Decrypt a token sealed for exactly (table, column, row); VaultError on any mismatch,
    :class:`Erased` for a v2 token whose customer was forgotten."""
    where = f"{table}.{column} (row {row})"  # ids and names only: never a value
    parsed = parse_token(token, where=where)
    key: DataKey | SubjectKey
    if parsed.version == SUBJECT_VERSION:
        key = _find_subject_key(subjects, parsed.key_id, where)
    else:
        key = _find_key(keys, parsed.key_id, where)
    aad = parsed.header + _table_and_column(table, column) + length_prefixed(row)
    try:
        return _cipher(key).decrypt(parsed.nonce, parsed.ciphertext, aad)
    except InvalidTag:
        raise VaultError(
            f"a sealed value in {where} does not open: it was altered, or belongs to another "
            "row, column or table"
        ) from None


def token_key_id(token: str) -> int:
    """The id of the key that sealed ``token`` (a data key for v1, a subject key for v2),
    read from its header without decrypting."""
    return parse_token(token).key_id


def parse_token(token: object, *, where: str = "token") -> ParsedToken:
    """Split a v1 or v2 token into its parts, or raise VaultError if it is not a well-formed
    one (the text prefix and the header's version byte must agree)."""
    if not isinstance(token, str):
        raise VaultError(f"{where}: expected a sealed token, found {type(token).__name__}")
    if token.startswith(PREFIX):
        expected = VERSION
    elif token.startswith(SUBJECT_PREFIX):
        expected = SUBJECT_VERSION
    else:
        raise VaultError(f"{where}: not a sealed token of a known format version")
    binary = _decode_base64url(token[len(PREFIX) :], where)
    if len(binary) < _MIN_BINARY:
        raise VaultError(f"{where}: sealed token is truncated")
    version, key_id = _HEADER.unpack_from(binary)
    if version != expected:
        raise VaultError(f"{where}: sealed token header has unknown version {version}")
    if not 1 <= key_id <= MAX_KEY_ID:
        raise VaultError(f"{where}: sealed token names invalid key id {key_id}")
    body = binary[_HEADER.size :]
    return ParsedToken(
        version=version,
        key_id=key_id,
        header=binary[: _HEADER.size],
        nonce=body[:NONCE_BYTES],
        ciphertext=body[NONCE_BYTES:],
    )


def _decode_base64url(text: str, where: str) -> bytes:
    """Strict unpadded base64url: only the alphabet, and only the canonical encoding."""
    if not _BASE64URL.fullmatch(text):
        raise VaultError(f"{where}: sealed token is not valid base64url")
    try:
        binary = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise VaultError(f"{where}: sealed token is not valid base64url") from None
    # Non-zero padding bits would let two different strings decode to the same bytes.
    if base64.urlsafe_b64encode(binary).rstrip(b"=").decode("ascii") != text:
        raise VaultError(f"{where}: sealed token is not in canonical base64url")
    return binary


def _find_key(keys: KeySource, key_id: int, where: str) -> DataKey:
    """Look the header's key id up once; a missing, retired or misused key is a VaultError
    that names the place (table, column and row) and the key."""
    try:
        key = keys.get(key_id) if isinstance(keys, Mapping) else keys(key_id)
    except KeyRetired:
        raise KeyRetired(key_id, where=where) from None
    except (KeyError, VaultError):
        key = None
    if key is None:
        raise VaultError(f"{where}: data key {key_id} is not in the keyring")
    if key.id != key_id or key.purpose != "data":
        raise VaultError(f"{where}: key {key_id} from the keyring is not that data key")
    return key


def _find_subject_key(subjects: SubjectSource | None, key_id: int, where: str) -> SubjectKey:
    """The subject key a v2 token names; Erased (naming the place) for a forgotten one."""
    if subjects is None:
        raise VaultError(f"{where}: sealed under subject key {key_id}, and no subject keys given")
    try:
        key = subjects(key_id)
    except Erased as exc:
        raise Erased(key_id, exc.erased_at, where=where) from None
    except VaultError as exc:
        raise VaultError(f"{where}: {exc}") from None
    except KeyError:
        raise VaultError(f"{where}: subject key {key_id} is not in this database") from None
    if key.id != key_id:
        raise VaultError(f"{where}: key {key_id} from the subject keys is not that key")
    return key


def header_key_id(value: object) -> int | None:
    """The key id in the header of what looks like a v1 token, or None for anything else.

    Reads only the first 8 base64 characters (6 bytes): the rewrap job and the census look
    at every stored value and need only this; opening the token still checks all of it.
    """
    return _header_id(value, PREFIX, VERSION)


def header_subject_id(value: object) -> int | None:
    """The subject key id in the header of what looks like a v2 token, or None for anything
    else (a v1 token included); like :func:`header_key_id`, it reads 8 characters only."""
    return _header_id(value, SUBJECT_PREFIX, SUBJECT_VERSION)


def _header_id(value: object, prefix: str, version: int) -> int | None:
    if not isinstance(value, str) or not value.startswith(prefix) or len(value) < 11:
        return None
    try:
        head = binascii.a2b_base64(value[3:11].translate(_URLSAFE_TO_STANDARD))
    except (binascii.Error, ValueError):
        return None
    if len(head) < _HEADER.size or head[0] != version:
        return None
    return int.from_bytes(head[1:5], "big")


_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")
