"""Blind indexes: find a customer by email or phone without decrypting anything.

A blind index is HMAC-SHA256, under an "index" data key, of the *normalised* value,
domain-separated by kind, so the same address written two ways gives one digest and an email
never collides with a phone. The normalisers here are the only place normalisation lives: the
mapping engine's email and phone transforms import them, so what is stored and what is looked
up are normalised alike. Their errors never repeat the value.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from hub.errors import VaultError
from hub.models import BlindIndexKind
from hub.vault.cipher import length_prefixed
from hub.vault.data_key import DataKey
from hub.vault.mac import hmac_sha256

_LABEL = "hub.blind_index.v1"


# The mapping's email/phone transforms and then the sealing step normalise the same value
# moments apart; small caches halve that cost and hold only the current page's values.
_RECENT = 1024
# Outputs of a normaliser, recently seen: each is its own normal form (the normalisers are
# idempotent), so the sealing step's blind index of a mapped value does not parse it again.
_NORMAL: dict[str, set[str]] = {"email": set(), "phone": set()}


def _known_normal(kind: str, value: str) -> bool:
    return value in _NORMAL[kind]


def _remember_normal(kind: str, value: str) -> str:
    seen = _NORMAL[kind]
    if len(seen) >= _RECENT:
        seen.clear()
    seen.add(value)
    return value


def normalise_email(s: str) -> str:
    """``local@domain`` with surrounding space stripped, lowercased, the domain IDNA-encoded.

    Syntax only: no DNS lookups. ValueError if it is not an email address (including
    special-use domains such as ``.local`` and ``.test``, which email-validator refuses).
    """
    if _known_normal("email", s):
        return s
    return _remember_normal("email", _normalise_email(s))


def normalise_phone(s: str, default_region: str | None = None) -> str:
    """The number in E.164 (``+14155550100``); ``default_region`` (e.g. "US") reads national
    forms. ValueError if it does not parse or is not a valid number."""
    if _known_normal("phone", s):
        return s  # E.164 reads the same in every region
    return _remember_normal("phone", _normalise_phone(s, default_region))


@functools.lru_cache(maxsize=_RECENT)
def _normalise_email(s: str) -> str:
    try:
        checked = validate_email(s.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValueError("not a valid email address") from None
    return f"{checked.local_part.lower()}@{checked.ascii_domain.lower()}"


@functools.lru_cache(maxsize=_RECENT)
def _normalise_phone(s: str, default_region: str | None) -> str:
    try:
        number = phonenumbers.parse(s, default_region)
    except phonenumbers.NumberParseException:
        raise ValueError("not a valid phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise(kind: BlindIndexKind, value: str) -> str:
    """Apply the normaliser of ``kind``; ValueError for an unknown kind or an invalid value."""
    if kind == "email":
        return normalise_email(value)
    if kind == "phone":
        # Called as the phone transform calls it, (value, region): lru_cache keys ``f(v)`` and
        # ``f(v, None)`` apart, and a miss here parsed every phone a second time.
        return normalise_phone(value, None)
    raise ValueError(f"unknown blind index kind {kind!r}")


def blind_index(kind: BlindIndexKind, value: str, key: DataKey) -> str:
    """Hex HMAC-SHA256 digest of the normalised value under an index key."""
    if key.purpose != "index":
        raise VaultError(f"key {key.id} is a {key.purpose} key; blind indexes need an index key")
    message = length_prefixed(_LABEL, kind, normalise(kind, value))
    return hmac_sha256(key, message)


def lookup_digests(
    kind: BlindIndexKind, value: str, keys: Iterable[DataKey]
) -> list[tuple[int, str]]:
    """(key id, digest) of ``value`` under each index key, for searching across a rotation."""
    return [(key.id, blind_index(kind, value, key)) for key in keys]
