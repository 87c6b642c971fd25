"""One seeded world of people and companies from which every vendor sandbox draws its customers.

A person is a function of ``(seed, person_id)`` and a company of ``(seed, company_id)``, so
person 49,999 costs what person 0 costs and nothing is kept but small caches. Each vendor sees
its own subset of the world through a :class:`VendorProfile`, with its own noise (spelling,
phone formats, an older email, typos) and its own duplicate records. The truth, which vendor
records are one person, is :meth:`World.truth` and :meth:`World.records_of`: for tests and
benchmarks, never for the hub, which must work it out from the noisy records alone.

Names come from Faker's per-locale name tables (thousands of given and family names per
locale, with Faker's frequency weights where it has them), drawn by our own seeded generator.
Reseeding one Faker per locale per person was measured first: about 270 µs a person for a
given and a family name (Faker recomputes weighted distributions on every call), 14 s to load
40 locales and 32 MB; reading the same tables directly costs a few microseconds a person and
loads in 0.2 s. Hand-written tables were the other option, but a realistic population of
50,000+ needs thousands of names per locale, which is exactly what Faker curates. The rest
(regions, time zones, mail providers, company forms) is a small hand-written table, because
Faker's per-locale coverage of those is uneven; phone numbers are checked by libphonenumber.
The world is stable for a given Faker release (see the pin in pyproject.toml).

Traps that make identity linking hard, at the shares in :class:`Traps`: family members sharing
a phone, shared company mailboxes (support@, info@), placeholder values, namesakes who are
different people, invalid emails and phones; and, per vendor, people held twice.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

import phonenumbers
from faker.decode import unidecode
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

BLOCK = 100  # people per membership block: a vendor's records are drawn block by block
NAMESAKE_REACH = 200  # a namesake copies the name of one of the 200 people before them
HOUSEHOLD_REACH = 3  # a household member joins one of the 3 people before them
EMPLOYED_SHARE = 0.55  # people who work at one of the world's companies
PEOPLE_PER_WINDOW, COMPANIES_PER_WINDOW = 1_000, 60  # employers of 1,000 people: 60 companies
NO_EMAIL_SHARE = 0.03
NO_PHONE_SHARE = 0.12
OTHER_EMAIL_SHARE = 0.45  # people with a second (older, or personal besides work) address

# Trap labels carried by Individual.traps.
FAMILY_PHONE = "family_phone"
SHARED_MAILBOX = "shared_mailbox"
PLACEHOLDER_EMAIL = "placeholder_email"
PLACEHOLDER_PHONE = "placeholder_phone"
NAMESAKE = "namesake"
INVALID_EMAIL = "invalid_email"
INVALID_PHONE = "invalid_phone"

PLACEHOLDER_EMAILS = ("noreply@example.com", "no-reply@noemail.com", "none@none.com", "n/a")
PLACEHOLDER_PHONES = ("+10000000000", "0000000000", "n/a", "+1 555 555 5555", "1234567890")
SHARED_MAILBOXES = ("support", "info", "office", "contact", "admin", "billing", "hello")
_BROKEN_EMAILS = ("{local}@", "{local} @{domain}", "{local}@{bare}", "@{domain}", "{local}")
_BROKEN_PHONES = ("12345", "n/a", "+{cc} 555", "call me", "{e164}{e164}", "{e164:.6}")
PHONE_STYLES = ("e164", "international", "national", "dashed", "dial00")
_INDUSTRIES = (
    "Logistics", "Systems", "Foods", "Partners", "Labs", "Energy", "Media", "Health", "Motors",
    "Consulting", "Analytics", "Textiles", "Pharma", "Solutions", "Retail", "Travel", "Bau",
    "Tech", "Design", "Finance",
)  # fmt: skip
_GLOBAL_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com")


class _Locale(NamedTuple):
    faker: str  # Faker's locale module name
    tag: str  # BCP 47, as vendors store it
    region: str  # ISO 3166 region for phone numbers
    weight: float
    zones: tuple[str, ...]
    mail: tuple[str, ...]  # the region's popular mail providers
    companies: tuple[str, ...]  # company name templates over {family} and {industry}
    tld: str
    family_first: bool = False
    joiner: str = " "  # between names when written: nothing in Chinese, Japanese, Korean


# Legal forms in Cyrillic and Greek script, whose capitals look like Latin ones.
_RU_COMPANIES = ("ООО «{family}»", "АО «{family} и {family2}»")  # noqa: RUF001
_UA_COMPANIES = ("ТОВ «{family}»",)  # noqa: RUF001
_GR_COMPANIES = ("{family} Α.Ε.",)  # noqa: RUF001
_US_ZONES = ("America/New_York",) * 5 + ("America/Chicago",) * 3 + (
    "America/Denver", "America/Los_Angeles", "America/Los_Angeles", "America/Phoenix",
)  # fmt: skip
_LOCALES: tuple[_Locale, ...] = (
    _Locale("en_US", "en-US", "US", 18, _US_ZONES,
            ("comcast.net", "aol.com", "gmail.com", "yahoo.com"),
            ("{family} {industry} Inc.", "{family} LLC", "{family} & {family2}"), "com"),
    _Locale("en_GB", "en-GB", "GB", 5, ("Europe/London",),
            ("btinternet.com", "sky.com", "hotmail.co.uk"),
            ("{family} {industry} Ltd", "{family} & {family2} plc"), "co.uk"),
    _Locale("en_IE", "en-IE", "IE", 1, ("Europe/Dublin",), ("eircom.net",),
            ("{family} {industry} Ltd",), "ie"),
    _Locale("en_IN", "en-IN", "IN", 5, ("Asia/Kolkata",), ("rediffmail.com", "yahoo.co.in"),
            ("{family} {industry} Pvt Ltd",), "in"),
    _Locale("hi_IN", "hi-IN", "IN", 1, ("Asia/Kolkata",), ("rediffmail.com",),
            ("{family} {industry} Pvt Ltd",), "in"),
    _Locale("ta_IN", "ta-IN", "IN", 1, ("Asia/Kolkata",), ("rediffmail.com",),
            ("{family} {industry} Pvt Ltd",), "in"),
    _Locale("en_NZ", "en-NZ", "NZ", 1, ("Pacific/Auckland",), ("xtra.co.nz",),
            ("{family} {industry} Ltd",), "co.nz"),
    _Locale("en_KE", "en-KE", "KE", 1, ("Africa/Nairobi",), ("yahoo.com",),
            ("{family} {industry} Ltd",), "co.ke"),
    _Locale("yo_NG", "yo-NG", "NG", 1, ("Africa/Lagos",), ("yahoo.com",),
            ("{family} {industry} Plc",), "com.ng"),
    _Locale("zu_ZA", "zu-ZA", "ZA", 1, ("Africa/Johannesburg",), ("webmail.co.za",),
            ("{family} {industry} (Pty) Ltd",), "co.za"),
    _Locale("de_DE", "de-DE", "DE", 6, ("Europe/Berlin",), ("gmx.de", "web.de", "t-online.de"),
            ("{family} {industry} GmbH", "{family} & {family2} KG", "{family} AG"), "de"),
    _Locale("de_AT", "de-AT", "AT", 1, ("Europe/Vienna",), ("gmx.at", "aon.at"),
            ("{family} {industry} GmbH",), "at"),
    _Locale("de_CH", "de-CH", "CH", 1, ("Europe/Zurich",), ("bluewin.ch", "gmx.ch"),
            ("{family} {industry} AG",), "ch"),
    _Locale("fr_FR", "fr-FR", "FR", 5, ("Europe/Paris",), ("orange.fr", "free.fr", "laposte.net"),
            ("{family} {industry} SAS", "{family} et {family2} SARL"), "fr"),
    _Locale("fr_CA", "fr-CA", "CA", 1, ("America/Toronto", "America/Montreal"),
            ("videotron.ca",), ("{family} {industry} Ltée",), "ca"),
    _Locale("es_ES", "es-ES", "ES", 3, ("Europe/Madrid", "Europe/Madrid", "Atlantic/Canary"),
            ("telefonica.net", "hotmail.es"), ("{family} {industry} S.L.", "{family} S.A."), "es"),
    _Locale("es_MX", "es-MX", "MX", 3, ("America/Mexico_City", "America/Monterrey"),
            ("prodigy.net.mx", "hotmail.com"), ("{family} {industry} S.A. de C.V.",), "com.mx"),
    _Locale("es_CO", "es-CO", "CO", 1, ("America/Bogota",), ("hotmail.com",),
            ("{family} {industry} S.A.S.",), "com.co"),
    _Locale("es_AR", "es-AR", "AR", 1, ("America/Argentina/Buenos_Aires",), ("fibertel.com.ar",),
            ("{family} {industry} S.R.L.",), "com.ar"),
    _Locale("pt_BR", "pt-BR", "BR", 4, ("America/Sao_Paulo", "America/Sao_Paulo",
            "America/Manaus"), ("uol.com.br", "bol.com.br", "hotmail.com"),
            ("{family} {industry} Ltda.", "{family} & {family2} S.A."), "com.br"),
    _Locale("pt_PT", "pt-PT", "PT", 1, ("Europe/Lisbon",), ("sapo.pt",),
            ("{family} {industry} Lda.",), "pt"),
    _Locale("it_IT", "it-IT", "IT", 3, ("Europe/Rome",), ("libero.it", "virgilio.it"),
            ("{family} {industry} S.r.l.", "{family} S.p.A."), "it"),
    _Locale("nl_NL", "nl-NL", "NL", 2, ("Europe/Amsterdam",), ("ziggo.nl", "kpnmail.nl"),
            ("{family} {industry} B.V.",), "nl"),
    _Locale("nl_BE", "nl-BE", "BE", 1, ("Europe/Brussels",), ("telenet.be", "skynet.be"),
            ("{family} {industry} NV",), "be"),
    _Locale("pl_PL", "pl-PL", "PL", 2, ("Europe/Warsaw",), ("wp.pl", "onet.pl", "interia.pl"),
            ("{family} {industry} sp. z o.o.",), "pl"),
    _Locale("cs_CZ", "cs-CZ", "CZ", 1, ("Europe/Prague",), ("seznam.cz", "email.cz"),
            ("{family} {industry} s.r.o.",), "cz"),
    _Locale("sv_SE", "sv-SE", "SE", 1, ("Europe/Stockholm",), ("telia.com", "hotmail.se"),
            ("{family} {industry} AB",), "se"),
    _Locale("da_DK", "da-DK", "DK", 1, ("Europe/Copenhagen",), ("mail.dk",),
            ("{family} {industry} ApS",), "dk"),
    _Locale("no_NO", "nb-NO", "NO", 1, ("Europe/Oslo",), ("online.no",),
            ("{family} {industry} AS",), "no"),
    _Locale("fi_FI", "fi-FI", "FI", 1, ("Europe/Helsinki",), ("luukku.com",),
            ("{family} {industry} Oy",), "fi"),
    _Locale("tr_TR", "tr-TR", "TR", 2, ("Europe/Istanbul",), ("yandex.com.tr", "hotmail.com"),
            ("{family} {industry} A.Ş.",), "com.tr"),
    _Locale("ru_RU", "ru-RU", "RU", 2, ("Europe/Moscow", "Europe/Moscow", "Asia/Yekaterinburg",
            "Asia/Novosibirsk"), ("mail.ru", "yandex.ru", "rambler.ru"),
            _RU_COMPANIES, "ru"),
    _Locale("uk_UA", "uk-UA", "UA", 1, ("Europe/Kyiv",), ("ukr.net", "i.ua"),
            _UA_COMPANIES, "com.ua"),
    _Locale("el_GR", "el-GR", "GR", 1, ("Europe/Athens",), ("yahoo.gr", "otenet.gr"),
            _GR_COMPANIES, "gr"),
    _Locale("bg_BG", "bg-BG", "BG", 0.5, ("Europe/Sofia",), ("abv.bg",), ("{family} ЕООД",), "bg"),
    _Locale("ar_SA", "ar-SA", "SA", 1, ("Asia/Riyadh",), ("hotmail.com",),
            ("شركة {family}",), "com.sa"),
    _Locale("ar_AA", "ar-EG", "EG", 1, ("Africa/Cairo",), ("yahoo.com",),
            ("شركة {family} وشركاه",), "com.eg"),
    _Locale("he_IL", "he-IL", "IL", 1, ("Asia/Jerusalem",), ("walla.co.il",),
            ('{family} בע"מ',), "co.il"),
    _Locale("fa_IR", "fa-IR", "IR", 0.5, ("Asia/Tehran",), ("yahoo.com",),
            ("شرکت {family}",), "ir"),
    _Locale("zh_CN", "zh-CN", "CN", 4, ("Asia/Shanghai",), ("qq.com", "163.com", "126.com"),
            ("{family}氏科技有限公司", "{family}{family2}贸易有限公司"), "cn", True, ""),
    _Locale("zh_TW", "zh-TW", "TW", 1, ("Asia/Taipei",), ("hinet.net", "yahoo.com.tw"),
            ("{family}氏股份有限公司",), "com.tw", True, ""),
    _Locale("ja_JP", "ja", "JP", 3, ("Asia/Tokyo",), ("docomo.ne.jp", "yahoo.co.jp"),
            ("{family}商事株式会社", "株式会社{family}製作所"), "co.jp", True, ""),
    _Locale("ko_KR", "ko", "KR", 2, ("Asia/Seoul",), ("naver.com", "daum.net"),
            ("(주){family}전자", "{family}물산 주식회사"), "co.kr", True, ""),
    _Locale("vi_VN", "vi", "VN", 1, ("Asia/Ho_Chi_Minh",), ("yahoo.com",),
            ("Công ty TNHH {family}",), "vn", True),
    _Locale("th_TH", "th", "TH", 1, ("Asia/Bangkok",), ("hotmail.com",),
            ("บริษัท {family} จำกัด",), "co.th"),
    _Locale("id_ID", "id-ID", "ID", 2, ("Asia/Jakarta", "Asia/Makassar"), ("yahoo.co.id",),
            ("PT {family} {industry}",), "co.id"),
    _Locale("hu_HU", "hu-HU", "HU", 0.5, ("Europe/Budapest",), ("freemail.hu", "citromail.hu"),
            ("{family} és Társa Kft.",), "hu", True),
    _Locale("ro_RO", "ro-RO", "RO", 1, ("Europe/Bucharest",), ("yahoo.com",),
            ("{family} {industry} SRL",), "ro"),
    _Locale("hr_HR", "hr-HR", "HR", 0.5, ("Europe/Zagreb",), ("net.hr",),
            ("{family} {industry} d.o.o.",), "hr"),
    _Locale("ka_GE", "ka-GE", "GE", 0.3, ("Asia/Tbilisi",), ("mail.ru",), ("შპს {family}",), "ge"),
    _Locale("bn_BD", "bn-BD", "BD", 0.5, ("Asia/Dhaka",), ("yahoo.com",),
            ("{family} {industry} Ltd",), "com.bd"),
)  # fmt: skip
_LOCALE_CUM = tuple(sum(loc.weight for loc in _LOCALES[: i + 1]) for i in range(len(_LOCALES)))
# Transliterations a native writer uses in an address, before the generic romanisation.
_ASCII_RULES = {"de": (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"))}


def rng_for(seed: int, kind: str, index: int) -> random.Random:
    """A random generator owned by one record: same (seed, kind, index), same stream."""
    digest = hashlib.blake2b(f"{seed}/{kind}/{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _draw(seed: int, kind: str, index: int) -> float:
    """One uniform draw in [0, 1) owned by a record: rng_for without building a generator.

    Whether someone is a namesake or in a household is asked of other people too, so it must
    be cheap; below the share, the draw rescaled picks whom they copy.
    """
    digest = hashlib.blake2b(f"{seed}/{kind}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Traps:
    """Shares of the world that carry each identity-linking trap (each between 0 and 1).

    ``family_phone``: people who join the household of someone just before them and share
    its phone (when the household has one) and family name. ``shared_mailbox``: of the people
    who work at a company, those whose address is its support@/info@/... mailbox.
    ``namesake``: people with exactly the name of a different, nearby person. The rest are
    shares of everyone.
    """

    family_phone: float = 0.04
    shared_mailbox: float = 0.03
    placeholder_email: float = 0.01
    placeholder_phone: float = 0.01
    namesake: float = 0.02
    invalid_email: float = 0.03
    invalid_phone: float = 0.04

    def __post_init__(self) -> None:
        for name, share in vars(self).items():
            _check_share(f"Traps.{name}", share)
        if self.family_phone > 0.5 or self.namesake > 0.5:
            raise ValueError("Traps: family_phone and namesake may be at most 0.5 (short chains)")
        if self.placeholder_email + self.invalid_email + self.shared_mailbox > 0.5:
            raise ValueError("Traps: email traps may take at most half of the world together")
        if self.placeholder_phone + self.invalid_phone > 0.5:
            raise ValueError("Traps: phone traps may take at most half of the world together")


@dataclass(frozen=True)
class Company:
    """An organisation people work for; its domain carries their work addresses."""

    id: int
    name: str
    domain: str
    locale: str


@dataclass(frozen=True)
class Individual:
    """One real person of the world, as they are (the truth; emails and phones may be traps)."""

    id: int
    given_name: str
    family_name: str
    display_name: str
    locale: str
    region: str
    time_zone: str
    email: str | None
    other_email: str | None
    phone: str | None  # E.164 when valid; otherwise the placeholder or broken value itself
    company_id: int | None
    traps: frozenset[str]
    phone_valid: bool = False  # the phone is a real number of the person's region
    household_of: int | None = None  # the person whose household and phone they share
    namesake_of: int | None = None  # the different person whose name they carry


@dataclass(frozen=True)
class Person:
    """A person as one vendor holds them: noisy, and emails and phones may be invalid."""

    given_name: str
    family_name: str
    display_name: str
    email: str | None
    phone: str | None
    locale: str
    time_zone: str
    other_email: str | None = None


@dataclass(frozen=True)
class VendorProfile:
    """How one vendor sees the world: which share of it, how many repeats, how much noise.

    ``coverage``: share of the world with a record at this vendor. ``duplicate_share``: share
    of its records that repeat a person it already holds. ``phone_styles``: weights of the
    :data:`PHONE_STYLES` the vendor's records use. The other fields are shares of records.
    """

    name: str
    coverage: float = 0.6
    duplicate_share: float = 0.02
    phone_styles: tuple[tuple[str, float], ...] = (
        ("e164", 5),
        ("international", 2),
        ("national", 1.5),
        ("dashed", 1),
        ("dial00", 0.5),
    )
    accent_loss: float = 0.1  # names typed without diacritics
    case_noise: float = 0.04  # names or emails in the wrong case
    name_typo: float = 0.02
    email_typo: float = 0.01
    older_email: float = 0.1  # holds the person's other (older) address instead
    keeps_other_email: float = 0.2  # also keeps the other address

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("VendorProfile.name must not be empty")
        _check_share(f"VendorProfile({self.name}).coverage", self.coverage)
        if self.coverage == 0:
            raise ValueError(f"VendorProfile({self.name}).coverage must be above 0")
        if self.duplicate_share >= 0.5:
            raise ValueError(f"VendorProfile({self.name}).duplicate_share must be below 0.5")
        for name in ("duplicate_share", "accent_loss", "case_noise", "name_typo"):
            _check_share(f"VendorProfile({self.name}).{name}", getattr(self, name))
        for name in ("email_typo", "older_email", "keeps_other_email"):
            _check_share(f"VendorProfile({self.name}).{name}", getattr(self, name))
        unknown = [style for style, _ in self.phone_styles if style not in PHONE_STYLES]
        if unknown or not self.phone_styles:
            raise ValueError(
                f"VendorProfile({self.name}).phone_styles: unknown {unknown}; "
                f"choose from {PHONE_STYLES}"
            )

    @property
    def records_per_block(self) -> int:
        """Records the vendor holds for each block of :data:`BLOCK` people."""
        return max(1, min(BLOCK, round(self.coverage * BLOCK / (1 - self.duplicate_share))))


def _check_share(what: str, share: float) -> None:
    if not 0 <= share <= 1:
        raise ValueError(f"{what} must be a share between 0 and 1, got {share}")


class _Name(NamedTuple):
    locale: _Locale
    female: bool
    given: str
    family: str
    given_ascii: str
    family_ascii: str


class World:
    """The seeded population; vendors are names (with a profile) that it knows nothing about."""

    def __init__(
        self, seed: int, *, traps: Traps | None = None, vendors: Iterable[VendorProfile] = ()
    ) -> None:
        self.seed = seed
        self.traps = traps or Traps()
        self.built: Counter[str] = Counter()  # values generated, by kind (for tests)
        self._vendors: dict[str, VendorProfile] = {}
        self._individuals: dict[int, Individual] = {}
        self._companies: dict[int, Company] = {}
        self._blocks: dict[tuple[str, int], tuple[int, ...]] = {}
        for profile in vendors:
            self.vendor(profile)

    # -- vendors and the truth -------------------------------------------------------------

    def vendor(self, vendor: str | VendorProfile) -> VendorProfile:
        """The profile of ``vendor``, registering it (a bare name gets the default profile)."""
        name = vendor if isinstance(vendor, str) else vendor.name
        known = self._vendors.get(name)
        if known is None:
            known = self._vendors[name] = (
                VendorProfile(vendor) if isinstance(vendor, str) else vendor
            )
        elif not isinstance(vendor, str) and vendor != known:
            raise ValueError(f"vendor {name!r} is already in this world with another profile")
        return known

    def truth(self, vendor: str | VendorProfile, index: int) -> int:
        """The id of the person behind record ``index`` of ``vendor`` (tests only)."""
        profile = self.vendor(vendor)
        if index < 0:
            raise ValueError(f"{profile.name} record index must be >= 0, got {index}")
        per_block = profile.records_per_block
        block, slot = divmod(index, per_block)
        return self._block(profile, block)[slot]

    def records_of(self, person_id: int) -> dict[str, list[int]]:
        """Every known vendor's record indices holding person ``person_id`` (tests only)."""
        block = person_id // BLOCK
        found: dict[str, list[int]] = {}
        for name, profile in self._vendors.items():
            base = block * profile.records_per_block
            slots = self._block(profile, block)
            indices = [base + slot for slot, pid in enumerate(slots) if pid == person_id]
            if indices:
                found[name] = indices
        return found

    def is_repeat(self, vendor: str | VendorProfile, index: int) -> bool:
        """True when a smaller index of ``vendor`` already holds this record's person."""
        profile = self.vendor(vendor)
        block, slot = divmod(index, profile.records_per_block)
        slots = self._block(profile, block)
        return slots[slot] in slots[:slot]

    def _block(self, profile: VendorProfile, block: int) -> tuple[int, ...]:
        """The person behind each of the vendor's records in one block of the world."""
        key = (profile.name, block)
        cached = self._blocks.get(key)
        if cached is not None:
            return cached
        rng = rng_for(self.seed, f"{profile.name}/block", block)
        members = list(range(block * BLOCK, (block + 1) * BLOCK))
        rng.shuffle(members)
        slots: list[int] = []
        fresh = 0
        for _ in range(profile.records_per_block):
            if fresh and (fresh == BLOCK or rng.random() < profile.duplicate_share):
                slots.append(members[rng.randrange(fresh)])
            else:
                slots.append(members[fresh])
                fresh += 1
        if len(self._blocks) > 4_096:
            self._blocks.clear()
        self._blocks[key] = result = tuple(slots)
        return result

    # -- the vendor's view -----------------------------------------------------------------

    def view(self, vendor: str | VendorProfile, index: int) -> Person:
        """Record ``index`` of ``vendor``: its person, typed the way that vendor has them."""
        profile = self.vendor(vendor)
        who = self.individual(self.truth(profile, index))
        rng = rng_for(self.seed, f"{profile.name}/view", index)
        given, family = who.given_name, who.family_name
        if rng.random() < profile.accent_loss:
            given, family = strip_accents(given), strip_accents(family)
        if rng.random() < profile.name_typo:
            family = _typo(family, rng)
        if rng.random() < profile.case_noise:
            given, family = (
                (given.upper(), family.upper())
                if rng.random() < 0.3
                else (given.lower(), family.lower())
            )
        email, other = who.email, who.other_email
        if other and rng.random() < profile.older_email:
            email, other = other, email
        if email and rng.random() < profile.case_noise:
            email = email.upper() if rng.random() < 0.5 else email.capitalize()
        if email and "@" in email and rng.random() < profile.email_typo:
            local, _, domain = email.partition("@")
            email = f"{_typo(local, rng)}@{domain}"
        loc = _locale_of(who.locale)
        return Person(
            given_name=given,
            family_name=family,
            display_name=_display(loc, given, family),
            email=email,
            phone=_styled_phone(who, rng, profile),
            locale=who.locale,
            time_zone=who.time_zone,
            other_email=other if rng.random() < profile.keeps_other_email else None,
        )

    # -- the population --------------------------------------------------------------------

    def individual(self, person_id: int) -> Individual:
        """Person ``person_id`` of the world, computed from the seed alone."""
        if person_id < 0:
            raise ValueError(f"person id must be >= 0, got {person_id}")
        cached = self._individuals.get(person_id)
        if cached is None:
            if len(self._individuals) > 8_192:
                self._individuals.clear()
            cached = self._individuals[person_id] = self._make_individual(person_id)
        return cached

    def company(self, company_id: int) -> Company:
        """Company ``company_id``: a name in its own locale and a domain for work addresses."""
        cached = self._companies.get(company_id)
        if cached is None:
            if len(self._companies) > 4_096:
                self._companies.clear()
            cached = self._companies[company_id] = self._make_company(company_id)
        return cached

    def _make_individual(self, pid: int) -> Individual:
        self.built["individual"] += 1
        rng = rng_for(self.seed, "individual", pid)
        traps: set[str] = set()
        head = self._household_head(pid)
        namesake_of = None if head is not None else self._namesake_source(pid)
        if namesake_of is not None:
            traps.add(NAMESAKE)
        name = self._known_as(pid)
        loc = name.locale
        company = self.company(_employer(pid, rng)) if rng.random() < EMPLOYED_SHARE else None
        email, other = self._emails(pid, rng, name, company, traps)
        phone, phone_trap = self._own_phone(pid, loc.region)
        phone_valid = phone is not None and phone_trap is None
        if head is not None:
            shared, head_trap = self._own_phone(head, loc.region)
            if shared is not None:
                phone, phone_trap = shared, FAMILY_PHONE
                phone_valid = head_trap is None
        if phone_trap:
            traps.add(phone_trap)
        return Individual(
            id=pid,
            given_name=name.given,
            family_name=name.family,
            display_name=_display(loc, name.given, name.family),
            locale=loc.tag,
            region=loc.region,
            time_zone=rng.choice(loc.zones),
            email=email,
            other_email=other,
            phone=phone,
            company_id=None if company is None else company.id,
            traps=frozenset(traps),
            phone_valid=phone_valid,
            household_of=head,
            namesake_of=namesake_of,
        )

    def _household_head(self, pid: int) -> int | None:
        """The first member of the household ``pid`` joined, if they joined one."""
        head = None
        current = pid
        while current > 0:
            draw = _draw(self.seed, "household", current)
            if draw >= self.traps.family_phone:
                break
            reach = min(current, HOUSEHOLD_REACH)
            current = current - 1 - int(draw / self.traps.family_phone * reach)
            head = current
        return head

    def _namesake_source(self, pid: int) -> int | None:
        """The different, nearby person whose name ``pid`` carries, if ``pid`` is a namesake."""
        draw = _draw(self.seed, "namesake", pid)
        if pid == 0 or draw >= self.traps.namesake:
            return None
        return pid - 1 - int(draw / self.traps.namesake * min(pid, NAMESAKE_REACH))

    def _known_as(self, pid: int) -> _Name:
        """The name ``pid`` goes by: their household's family name, a namesake's, or their own."""
        while True:
            head = self._household_head(pid)
            if head is not None:  # a head joined no household, so this recursion is one deep
                return self._name(pid, household=self._known_as(head))
            source = self._namesake_source(pid)
            if source is None:
                return self._name(pid)
            pid = source

    def _name(self, pid: int, household: _Name | None = None) -> _Name:
        """A person's own name; a household member takes the family name of its head."""
        self.built["name"] += 1
        rng = rng_for(self.seed, "name", pid)
        loc = household.locale if household else _LOCALES[_pick(_LOCALE_CUM, rng)]
        tables = _name_tables(loc.faker)
        female = rng.random() < 0.5
        if household and tables.gendered_family:
            female = household.female  # keeps a gendered family name (-ski/-ska) grammatical
        given, given_ascii = tables.given[female].draw(rng)
        family, family_ascii = tables.family[female].draw(rng)
        if household:
            family, family_ascii = household.family, household.family_ascii
        return _Name(
            loc,
            female,
            given,
            family,
            given_ascii or _ascii(given, loc),
            family_ascii or _ascii(family, loc),
        )

    def _emails(
        self,
        pid: int,
        rng: random.Random,
        name: _Name,
        company: Company | None,
        traps: set[str],
    ) -> tuple[str | None, str | None]:
        """The address a person gives first and, for some, a second (older) one."""
        given, family = name.given_ascii or "user", name.family_ascii or str(pid)
        numbered = NAMESAKE in traps
        personal = _personal_address(rng, given, family, name.locale, numbered=numbered)
        work_local = _work_local(rng, given, family)
        if numbered:  # a colleague may already have the name: IT adds a digit
            work_local += str(rng.randint(2, 9))
        work = None if company is None else f"{work_local}@{company.domain}"
        primary, other = (work, personal) if work and rng.random() < 0.6 else (personal, work)
        if other is None and rng.random() < OTHER_EMAIL_SHARE:
            other = _personal_address(rng, given, family, name.locale, numbered=numbered)
        if other == primary:
            other = None
        draw = rng.random()
        t = self.traps
        if draw < t.placeholder_email:
            traps.add(PLACEHOLDER_EMAIL)
            return rng.choice(PLACEHOLDER_EMAILS), other
        draw -= t.placeholder_email
        if draw < t.invalid_email:
            traps.add(INVALID_EMAIL)
            local, _, domain = primary.partition("@")
            broken = rng.choice(_BROKEN_EMAILS)
            return broken.format(local=local, domain=domain, bare=domain.split(".")[0]), other
        draw -= t.invalid_email
        if company is not None and draw < t.shared_mailbox:
            traps.add(SHARED_MAILBOX)
            return f"{rng.choice(SHARED_MAILBOXES)}@{company.domain}", primary
        if rng.random() < NO_EMAIL_SHARE:
            return None, None
        return primary, other

    def _own_phone(self, pid: int, region: str) -> tuple[str | None, str | None]:
        """The person's own phone and the trap it is, if any (before any household shares)."""
        self.built["phone"] += 1
        rng = rng_for(self.seed, "phone", pid)
        draw = rng.random()
        if draw < self.traps.placeholder_phone:
            return rng.choice(PLACEHOLDER_PHONES), PLACEHOLDER_PHONE
        e164 = _valid_mobile(rng, region)
        if draw < self.traps.placeholder_phone + self.traps.invalid_phone:
            cc = str(_mobile_plan(region)[0])
            return rng.choice(_BROKEN_PHONES).format(cc=cc, e164=e164), INVALID_PHONE
        if rng.random() < NO_PHONE_SHARE:
            return None, None
        return e164, None

    def _make_company(self, cid: int) -> Company:
        self.built["company"] += 1
        rng = rng_for(self.seed, "company", cid)
        loc = _LOCALES[_pick(_LOCALE_CUM, rng)]
        tables = _name_tables(loc.faker)
        family, family_ascii = tables.family[False].draw(rng)
        family2, _ = tables.family[False].draw(rng)
        industry = rng.choice(_INDUSTRIES)
        template = rng.choice(loc.companies)
        name = template.format(family=family, family2=family2, industry=industry)
        slug = (family_ascii or _ascii(family, loc)) or f"co{cid}"
        domain = f"{slug}{industry.lower()}.{loc.tld}"
        return Company(id=cid, name=name, domain=domain, locale=loc.tag)


# -- names ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """Names with their romanisation (when Faker has one) and Faker's frequency weights."""

    names: tuple[tuple[str, str | None], ...]
    cumulative: tuple[float, ...] | None

    def draw(self, rng: random.Random) -> tuple[str, str | None]:
        if self.cumulative is None:
            return self.names[int(rng.random() * len(self.names))]
        return self.names[_pick(self.cumulative, rng)]


@dataclass(frozen=True)
class _NameTables:
    given: dict[bool, _Table]  # by "is female"
    family: dict[bool, _Table]
    gendered_family: bool = field(default=False)


@cache
def _name_tables(faker_locale: str) -> _NameTables:
    """Faker's given and family names of one locale, read once."""
    p = importlib.import_module(f"faker.providers.person.{faker_locale}").Provider
    if faker_locale == "ja_JP":  # kanji with Faker's own romanisation: (kanji, kana, romaji)
        last = _table(p.last_name_pairs, romanised=True)
        return _NameTables(
            {
                False: _table(p.first_name_male_pairs, romanised=True),
                True: _table(p.first_name_female_pairs, romanised=True),
            },
            {False: last, True: last},
        )
    given = {False: _table(p.first_names_male), True: _table(p.first_names_female)}
    if hasattr(p, "last_names_male") and hasattr(p, "last_names_female"):
        family = {False: _table(p.last_names_male), True: _table(p.last_names_female)}
        return _NameTables(given, family, gendered_family=True)
    if hasattr(p, "male_last_names"):  # Polish: -ski/-cki names take -ska/-cka for women
        feminine = (re.sub(r"([sc]k|dzk)i$", r"\1a", n) for n in p.male_last_names)
        family = {
            False: _table((*p.male_last_names, *p.unisex_last_names)),
            True: _table((*feminine, *p.unisex_last_names)),
        }
        return _NameTables(given, family, gendered_family=True)
    last = _table(p.last_names)
    return _NameTables(given, {False: last, True: last})


def _table(values: Any, *, romanised: bool = False) -> _Table:
    """A table from a Faker name list: a sequence, or a mapping of name to weight.

    ``romanised`` entries are Faker's ``(native, kana, romaji)`` triples.
    """

    def entry(value: Any) -> tuple[str, str | None]:
        return (value[0], value[2].lower()) if romanised else (value, None)

    if isinstance(values, dict):
        names = tuple(entry(k) for k in values)
        total, cumulative = 0.0, []
        for weight in values.values():
            total += float(weight)
            cumulative.append(total)
        return _Table(names, tuple(cumulative))
    return _Table(tuple(entry(v) for v in values), None)


def _pick(cumulative: Sequence[float], rng: random.Random) -> int:
    """An index drawn with the weights whose running totals are ``cumulative``."""
    return min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)


def _ascii(text: str, loc: _Locale) -> str:
    """How a native writer of ``loc`` spells a name in an address: lowercase ASCII letters."""
    lowered = text.lower()
    for native, latin in _ASCII_RULES.get(loc.tag[:2], ()):
        lowered = lowered.replace(native, latin)
    return re.sub(r"[^a-z0-9]", "", unidecode(lowered).lower())


def _display(loc: _Locale, given: str, family: str) -> str:
    return f"{family}{loc.joiner}{given}" if loc.family_first else f"{given} {family}"


@cache
def _locale_of(tag: str) -> _Locale:
    return next(loc for loc in _LOCALES if loc.tag == tag)


def strip_accents(text: str) -> str:
    """The text without combining marks, as a keyboard without accents types it."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _typo(text: str, rng: random.Random) -> str:
    """One slip of the fingers: two letters swapped, one dropped or one doubled."""
    if len(text) < 3:
        return text + text[-1:]
    at = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    if kind == 1:
        return text[:at] + text[at + 1 :]
    return text[:at] + text[at] + text[at:]


# -- emails and companies ---------------------------------------------------------------------


def _personal_local(rng: random.Random, given: str, family: str, *, numbered: bool) -> str:
    """A free-mail local part: popular names are taken, so most carry a number (and a
    ``numbered`` one always does: a namesake found the bare name taken)."""
    pattern = rng.randrange(1 if numbered else 0, 8)
    year = rng.randint(1950, 2006)
    number = rng.randint(1, 9999)
    return (
        f"{given}.{family}",
        f"{given}{family}{year % 100:02d}",
        f"{given}.{family}{number % 1000}",
        f"{given[0]}{family}{year}",
        f"{family}.{given}{number % 100}",
        f"{given}_{family}{number}",
        f"{given}{year}",
        f"{family}{given[0]}{number % 90 + 10}",
    )[pattern]


def _work_local(rng: random.Random, given: str, family: str) -> str:
    return rng.choice((f"{given}.{family}", f"{given[0]}{family}", f"{family}.{given}"))


def _personal_address(
    rng: random.Random, given: str, family: str, loc: _Locale, *, numbered: bool
) -> str:
    """An address at the region's own mail providers or a global one."""
    domain = rng.choice(loc.mail) if rng.random() < 0.45 else rng.choice(_GLOBAL_MAIL)
    return f"{_personal_local(rng, given, family, numbered=numbered)}@{domain}"


@cache
def _employer_weights() -> tuple[float, ...]:
    """Zipf-like sizes: a few large employers, many small ones."""
    total, out = 0.0, []
    for k in range(COMPANIES_PER_WINDOW):
        total += 1 / (k + 1)
        out.append(total)
    return tuple(out)


def _employer(pid: int, rng: random.Random) -> int:
    window = pid // PEOPLE_PER_WINDOW
    return window * COMPANIES_PER_WINDOW + _pick(_employer_weights(), rng)


# -- phones -----------------------------------------------------------------------------------


@cache
def _mobile_plan(region: str) -> tuple[int, str, re.Pattern[str]]:
    """The region's calling code, example mobile number and mobile number pattern.

    The pattern is libphonenumber's own, compiled once here: libphonenumber compiles through
    the ``re`` module's small cache, which dozens of regions overflow, so checking candidates
    with ``is_valid_number`` would recompile on every call.
    """
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    mobile = None if metadata is None else metadata.mobile
    if example is None or example.country_code is None or mobile is None:
        raise ValueError(f"libphonenumber has no mobile numbers for region {region}")
    if mobile.national_number_pattern is None:
        raise ValueError(f"libphonenumber has no mobile number pattern for region {region}")
    pattern = re.compile(mobile.national_number_pattern)
    return example.country_code, str(example.national_number), pattern


def _valid_mobile(rng: random.Random, region: str) -> str:
    """A mobile number libphonenumber accepts for ``region``, in E.164.

    Random digits after the example's first digit give the widest variety (US area codes
    included); where that rarely matches, keeping the example's first three digits does.
    """
    cc, national, pattern = _mobile_plan(region)
    for keep in (1, 1, 1, 1, 3, 3, 3, 3, 3, 3):
        free = len(national) - keep
        digits = national[:keep] + str(rng.randrange(10**free)).zfill(free)
        if pattern.fullmatch(digits):
            return f"+{cc}{digits}"
    return f"+{cc}{national}"


@cache
def _dials_00(region: str) -> bool:
    """Whether callers in ``region`` dial abroad with 00 (most of Europe, Africa and Asia)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata is not None and metadata.international_prefix == "00"


def _styled_phone(who: Individual, rng: random.Random, profile: VendorProfile) -> str | None:
    """A valid number in one of the vendor's formats; anything else stays as the person gave it."""
    styles, weights = zip(*profile.phone_styles, strict=True)
    style = rng.choices(styles, weights=weights)[0]
    phone = who.phone
    if phone is None or not who.phone_valid or style == "e164":
        return phone
    cc = str(_mobile_plan(who.region)[0])
    if style == "dial00" and _dials_00(who.region):
        return "00" + phone[1:]
    number = PhoneNumber(country_code=int(cc), national_number=int(phone[1 + len(cc) :]))
    if style == "national":
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    spaced = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    return re.sub(r"[\s()]+", "-", spaced) if style == "dashed" else spaced
