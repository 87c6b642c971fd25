"""Deterministic, lazy generation of realistic people and timestamps for the sandboxes.

Every value is computed from ``(seed, kind, index)`` alone, so record 999,999 costs the same
as record 0 and nothing is kept in memory. The data is meant to hurt a little: names in many
scripts, a controlled share of invalid emails and phones, messy phone formats, placeholder
values, and some people who exist twice under slightly different spellings.
"""

from __future__ import annotations

import functools
import hashlib
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import phonenumbers
from phonenumbers import PhoneNumberType

# (given, family, given in ASCII, family in ASCII, locale, time zone, country calling code,
#  national number length, family name first when written)
_NAMES: tuple[tuple[str, str, str, str, str, str, str, int, bool], ...] = (
    ("José", "García", "jose", "garcia", "es", "Europe/Madrid", "34", 9, False),
    ("Zoë", "Müller", "zoe", "mueller", "de", "Europe/Berlin", "49", 10, False),
    ("François", "Lefèvre", "francois", "lefevre", "fr", "Europe/Paris", "33", 9, False),
    ("Søren", "Ødegård", "soren", "odegard", "da", "Europe/Copenhagen", "45", 8, False),
    ("Łukasz", "Wiśniewski", "lukasz", "wisniewski", "pl", "Europe/Warsaw", "48", 9, False),
    ("İlkay", "Yılmaz", "ilkay", "yilmaz", "tr", "Europe/Istanbul", "90", 10, False),  # noqa: RUF001 (Turkish dotless i)
    ("João", "Gonçalves", "joao", "goncalves", "pt-BR", "America/Sao_Paulo", "55", 11, False),
    ("Siobhán", "O'Connor", "siobhan", "oconnor", "en-GB", "Europe/Dublin", "353", 9, False),
    ("Mary", "Smith", "mary", "smith", "en-US", "America/New_York", "1", 10, False),
    ("James", "Johnson", "james", "johnson", "en-US", "America/Chicago", "1", 10, False),
    ("Aiyana", "Redcloud", "aiyana", "redcloud", "en-US", "America/Denver", "1", 10, False),
    ("伟", "王", "wei", "wang", "zh-CN", "Asia/Shanghai", "86", 11, True),
    ("さくら", "佐藤", "sakura", "sato", "ja", "Asia/Tokyo", "81", 10, True),
    ("민준", "김", "minjun", "kim", "ko", "Asia/Seoul", "82", 10, True),
    ("محمد", "العلي", "mohammed", "alali", "ar", "Asia/Riyadh", "966", 9, False),
    ("فاطمة", "الزهراء", "fatima", "alzahra", "ar", "Africa/Cairo", "20", 10, False),
    (
        "Αλέξανδρος",
        "Παπαδόπουλος",
        "alexandros",
        "papadopoulos",
        "el",
        "Europe/Athens",
        "30",
        10,
        False,
    ),
    ("Дмитрий", "Иванов", "dmitry", "ivanov", "ru", "Europe/Moscow", "7", 10, False),
    ("अनन्या", "शर्मा", "ananya", "sharma", "hi", "Asia/Kolkata", "91", 10, False),
    ("Thị Hoa", "Nguyễn", "hoa", "nguyen", "vi", "Asia/Ho_Chi_Minh", "84", 9, True),
    ("יעל", "כהן", "yael", "cohen", "he", "Asia/Jerusalem", "972", 9, False),
    ("Chukwuemeka", "Okafor", "chukwuemeka", "okafor", "en-NG", "Africa/Lagos", "234", 10, False),
    ("Åsa", "Löfgren", "asa", "lofgren", "sv", "Europe/Stockholm", "46", 9, False),
    ("Nuño", "Peña", "nuno", "pena", "es-MX", "America/Mexico_City", "52", 10, False),
)
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "correo.example")
_PLACEHOLDER_EMAILS = ("noreply@example.com", "support@example.com", "test@test.example")
_PLACEHOLDER_PHONES = ("+10000000000", "0000000000")
_BROKEN_EMAILS = ("{local}@", "{local} @{domain}", "{local}@{domain_nodot}", "@{domain}", "{local}")
_BROKEN_PHONES = ("12345", "n/a", "+{cc} 555", "call me", "+{cc}{national}{national}")

INVALID_EMAIL_SHARE = 0.04
INVALID_PHONE_SHARE = 0.05
PLACEHOLDER_SHARE = 0.01
DUPLICATE_SHARE = 0.03


def rng_for(seed: int, kind: str, index: int) -> random.Random:
    """A random generator owned by one record: same (seed, kind, index), same stream."""
    digest = hashlib.blake2b(f"{seed}/{kind}/{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


@dataclass(frozen=True)
class Person:
    """A generated person as a vendor would hold them; emails and phones may be invalid."""

    given_name: str
    family_name: str
    display_name: str
    email: str | None
    phone: str | None
    locale: str
    time_zone: str


def person(seed: int, index: int) -> Person:
    """Person number ``index``; a small share are a variant of person ``index - 1``."""
    rng = rng_for(seed, "person-duplicate", index)
    if index > 0 and rng.random() < DUPLICATE_SHARE:
        return _variant(_base_person(seed, index - 1), rng)
    return _base_person(seed, index)


def is_duplicate_of_previous(seed: int, index: int) -> bool:
    """True when person ``index`` is the same human as person ``index - 1``."""
    return index > 0 and rng_for(seed, "person-duplicate", index).random() < DUPLICATE_SHARE


def _base_person(seed: int, index: int) -> Person:
    rng = rng_for(seed, "person", index)
    given, family, given_ascii, family_ascii, locale, tz, cc, digits, family_first = rng.choice(
        _NAMES
    )
    display = (
        f"{family}{given}"
        if family_first and _is_cjk(family)
        else (f"{family} {given}" if family_first else f"{given} {family}")
    )
    return Person(
        given_name=given,
        family_name=family,
        display_name=display,
        email=_email(rng, given_ascii, family_ascii, index),
        phone=_phone(rng, cc, digits),
        locale=locale,
        time_zone=tz,
    )


def _variant(base: Person, rng: random.Random) -> Person:
    """The same human typed differently: case, accents, phone format."""
    name = base.display_name
    if rng.random() < 0.5:
        name = _strip_accents(name)
    if rng.random() < 0.5:
        name = name.upper() if rng.random() < 0.3 else name.lower()
    email = base.email.upper() if base.email and rng.random() < 0.5 else base.email
    phone = base.phone
    if phone and phone.startswith("+") and phone[1:].isdigit():
        try:
            cc = str(phonenumbers.parse(phone).country_code)
        except phonenumbers.NumberParseException:  # a deliberately broken number stays so
            cc = None
        phone = _reformat_phone(phone, rng, cc) if cc else phone
    return replace(base, display_name=name, email=email, phone=phone)


def _email(rng: random.Random, given: str, family: str, index: int) -> str | None:
    draw = rng.random()
    if draw < 0.03:
        return None
    domain = rng.choice(_DOMAINS)
    local = rng.choice(
        (f"{given}.{family}", f"{given[0]}{family}", f"{family}.{given}{index % 97}")
    )
    if draw < 0.03 + PLACEHOLDER_SHARE:
        return rng.choice(_PLACEHOLDER_EMAILS)
    if draw < 0.03 + PLACEHOLDER_SHARE + INVALID_EMAIL_SHARE:
        return rng.choice(_BROKEN_EMAILS).format(
            local=local, domain=domain, domain_nodot=domain.split(".")[0]
        )
    return f"{local}{index}@{domain}" if rng.random() < 0.5 else f"{local}@{domain}"


def _phone(rng: random.Random, cc: str, digits: int) -> str | None:
    draw = rng.random()
    if draw < 0.15:
        return None
    national = _valid_national(rng, cc) or str(rng.randint(2, 9)) + "".join(
        str(rng.randint(0, 9)) for _ in range(digits - 1)
    )
    if draw < 0.15 + PLACEHOLDER_SHARE:
        return rng.choice(_PLACEHOLDER_PHONES)
    if draw < 0.15 + PLACEHOLDER_SHARE + INVALID_PHONE_SHARE:
        return rng.choice(_BROKEN_PHONES).format(cc=cc, national=national)
    return _reformat_phone(f"+{cc}{national}", rng, cc)


@functools.cache
def _example_mobile(cc: str) -> str | None:
    """A valid mobile number of the country (libphonenumber's own example), national form."""
    region = phonenumbers.region_code_for_country_code(int(cc))
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    return None if example is None else str(example.national_number)


def _valid_national(rng: random.Random, cc: str) -> str | None:
    """A national number that libphonenumber accepts: the example with new last digits."""
    example = _example_mobile(cc)
    if example is None:
        return None
    candidate = example[:-4] + "".join(str(rng.randint(0, 9)) for _ in range(4))
    parsed = phonenumbers.parse(f"+{cc}{candidate}")
    return candidate if phonenumbers.is_valid_number(parsed) else example


def _reformat_phone(e164: str, rng: random.Random, cc: str) -> str:
    """E.164 most of the time, otherwise one of the messy ways people type numbers.

    Every messy form keeps the country code, so a careful normaliser can still read it.
    """
    if not e164.startswith("+") or not e164[1:].isdigit():
        return e164
    national = e164[1 + len(cc) :]
    style = rng.randrange(6)
    if style <= 2:
        return e164
    if style == 3:
        return f"+{cc}-{national[:3]}-{national[3:]}"
    if style == 4:
        return f"+{cc} " + " ".join(national[i : i + 3] for i in range(0, len(national), 3))
    return f"+{cc} ({national[:3]}) {national[3:6]}-{national[6:]}"


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in text)


def spread_timestamp(seed: int, kind: str, index: int, count: int, *, start: int, end: int) -> int:
    """Unix time of record ``index`` of ``count``, spread over [start, end) and non-decreasing
    in ``index`` (a jitter never crosses the next record's slot), so it can be bisected."""
    span = end - start
    count = max(count, 1)
    slot = start + index * span // count
    next_slot = start + (index + 1) * span // count
    jitter = rng_for(seed, f"{kind}-ts", index).randrange(max(next_slot - slot, 1))
    return slot + jitter


def iso(ts: int | float) -> str:
    """ISO-8601 UTC with a ``Z``, the way most vendor APIs write timestamps."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def count_where(n: int, period: int, predicate: Callable[[int], bool]) -> int:
    """How many ``i`` in ``range(n)`` satisfy a predicate that depends only on ``i % period``."""
    per_period = sum(1 for i in range(period) if predicate(i))
    full, rest = divmod(n, period)
    return full * per_period + sum(1 for i in range(rest) if predicate(full * period + i))
