"""The sandboxes' shared world: varied people, traps at their shares, vendor views, the truth."""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict

import phonenumbers
import pytest

from hub.sandbox.world import (
    EMPLOYED_SHARE,
    FAMILY_PHONE,
    INVALID_EMAIL,
    INVALID_PHONE,
    NAMESAKE,
    NO_PHONE_SHARE,
    PLACEHOLDER_EMAIL,
    PLACEHOLDER_EMAILS,
    PLACEHOLDER_PHONE,
    PLACEHOLDER_PHONES,
    SHARED_MAILBOX,
    SHARED_MAILBOXES,
    Individual,
    Traps,
    VendorProfile,
    World,
    strip_accents,
)
from hub.vault import normalise_email, normalise_phone

POPULATION = 50_000
CRM = VendorProfile("crm", coverage=0.5, duplicate_share=0.03)
HELPDESK = VendorProfile("helpdesk", coverage=0.7)
EMAIL_TRAPS = {PLACEHOLDER_EMAIL, SHARED_MAILBOX, INVALID_EMAIL}


@pytest.fixture(scope="module")
def population() -> list[Individual]:
    """The first 50,000 people of one world, walked once for every test that needs them all."""
    world = World(7)
    return [world.individual(i) for i in range(POPULATION)]


def _normalised_email(value: str) -> str | None:
    try:
        return normalise_email(value)
    except ValueError:
        return None


def test_the_same_seed_gives_the_same_world_and_another_seed_another() -> None:
    first, again, other = World(1), World(1), World(2)
    ids = range(300)
    assert [first.individual(i) for i in ids] == [again.individual(i) for i in ids]
    assert [first.view(CRM, i) for i in ids] == [again.view(CRM, i) for i in ids]
    same = sum(first.individual(i) == other.individual(i) for i in ids)
    assert same == 0
    assert [first.truth(CRM, i) for i in ids] != [other.truth(CRM, i) for i in ids]


def test_distinct_people_rarely_share_a_normalised_email_at_50000(
    population: list[Individual],
) -> None:
    owners: defaultdict[str, set[int]] = defaultdict(set)
    for who in population:
        if who.email and not who.traps & EMAIL_TRAPS:
            normalised = _normalised_email(who.email)
            assert normalised is not None, "an untrapped address must be valid"
            owners[normalised].add(who.id)
    colliding = sum(len(ids) for ids in owners.values() if len(ids) > 1)
    # A real address has one owner; a few same-name, same-year people on one provider is
    # the most a world of 50,000 should show.
    assert colliding / len(owners) < 0.002


def test_names_vary_like_an_international_customer_base(population: list[Individual]) -> None:
    assert len({who.display_name for who in population}) > 0.9 * POPULATION
    assert len({who.family_name for who in population}) > 5_000
    assert len({who.locale for who in population}) >= 40
    assert len({who.time_zone for who in population}) >= 40
    scripts = {
        unicodedata.name(who.family_name[0], "?").split()[0]
        for who in population
        if who.family_name
    }
    assert {"LATIN", "CYRILLIC", "GREEK", "ARABIC", "HEBREW", "CJK", "HANGUL"} <= scripts
    assert {"DEVANAGARI", "THAI", "BENGALI", "TAMIL", "GEORGIAN"} <= scripts


def test_every_trap_appears_at_about_its_share(population: list[Individual]) -> None:
    t = Traps()
    seen = Counter(trap for who in population for trap in who.traps)
    own_phone = 1 - (1 - t.placeholder_phone - t.invalid_phone) * NO_PHONE_SHARE
    expected = {
        FAMILY_PHONE: t.family_phone * own_phone,  # when the household has a phone
        SHARED_MAILBOX: t.shared_mailbox * EMPLOYED_SHARE,  # of people who work somewhere
        NAMESAKE: t.namesake * (1 - t.family_phone),  # household members keep their family's
        PLACEHOLDER_EMAIL: t.placeholder_email,
        INVALID_EMAIL: t.invalid_email,
        PLACEHOLDER_PHONE: t.placeholder_phone * (1 - t.family_phone),
        INVALID_PHONE: t.invalid_phone * (1 - t.family_phone),
    }
    for trap, share in expected.items():
        assert 0.8 * share < seen[trap] / POPULATION < 1.2 * share, trap


def test_trap_shares_are_configurable() -> None:
    world = World(4, traps=Traps(namesake=0.3, shared_mailbox=0.0, placeholder_phone=0.2))
    people = [world.individual(i) for i in range(4_000)]
    seen = Counter(trap for who in people for trap in who.traps)
    assert 0.25 < seen[NAMESAKE] / len(people) < 0.33
    assert 0.16 < seen[PLACEHOLDER_PHONE] / len(people) < 0.22
    assert seen[SHARED_MAILBOX] == 0


def test_each_trap_does_what_it_says(population: list[Individual]) -> None:
    world = World(7)
    mailbox_users: Counter[str] = Counter()
    namesakes = namesakes_sharing_an_email = 0
    for who in population[:20_000]:
        if FAMILY_PHONE in who.traps:
            assert who.household_of is not None
            head = world.individual(who.household_of)
            assert who.family_name == head.family_name and who.id != head.id
            assert who.phone is not None and who.phone == head.phone
            assert head.household_of is None, "the household is named after its first member"
        if SHARED_MAILBOX in who.traps:
            assert who.email is not None and who.company_id is not None
            local, _, domain = who.email.partition("@")
            assert local in SHARED_MAILBOXES and domain == world.company(who.company_id).domain
            mailbox_users[who.email] += 1
        if NAMESAKE in who.traps:
            assert who.namesake_of is not None
            other = world.individual(who.namesake_of)
            assert who.display_name == other.display_name and who.id != other.id
            namesakes += 1
            namesakes_sharing_an_email += who.email is not None and who.email == other.email
        if PLACEHOLDER_EMAIL in who.traps:
            assert who.email in PLACEHOLDER_EMAILS
        if PLACEHOLDER_PHONE in who.traps:
            assert who.phone in PLACEHOLDER_PHONES
        if INVALID_EMAIL in who.traps:
            assert who.email is not None and _normalised_email(who.email) is None
        if INVALID_PHONE in who.traps:
            assert who.phone is not None
            with pytest.raises(ValueError):
                normalise_phone(who.phone, who.region)
    assert max(mailbox_users.values()) > 1, "a shared mailbox is used by several people"
    assert namesakes_sharing_an_email / namesakes < 0.01  # their own addresses, nearly always


def test_valid_phones_are_mobile_numbers_of_the_persons_country(
    population: list[Individual],
) -> None:
    for who in population[:3_000]:
        if who.phone_valid:
            assert who.phone is not None
            number = phonenumbers.parse(who.phone)
            assert phonenumbers.is_valid_number(number)
            assert phonenumbers.region_code_for_number(number) == who.region


def test_the_truth_links_a_persons_records_across_two_vendors() -> None:
    world = World(3, vendors=(CRM, HELPDESK))
    at_both = 0
    for index in range(2_000):
        person_id = world.truth(CRM, index)
        records = world.records_of(person_id)
        assert index in records["crm"]
        for helpdesk_index in records.get("helpdesk", []):
            assert world.truth(HELPDESK, helpdesk_index) == person_id
            at_both += 1
    # About 70% of the CRM's people are at the helpdesk too, whatever the sandboxes' sizes.
    assert 0.6 < at_both / 2_000 < 0.8


def test_records_of_is_the_inverse_of_truth() -> None:
    world = World(5, vendors=(CRM, HELPDESK))
    held: defaultdict[str, set[int]] = defaultdict(set)
    for person_id in range(1_000):
        for vendor, indices in world.records_of(person_id).items():
            for index in indices:
                assert world.truth(vendor, index) == person_id
            held[vendor].update(indices)
    for profile in (CRM, HELPDESK):
        assert held[profile.name] == set(range(10 * profile.records_per_block))


def test_each_vendor_holds_its_share_of_the_world_and_repeats_a_few_people() -> None:
    world = World(6, vendors=(CRM,))
    records = 50 * CRM.records_per_block  # the records of the first 5,000 people
    people = Counter(world.truth(CRM, i) for i in range(records))
    assert 0.45 < len(people) / 5_000 < 0.55
    repeats = sum(world.is_repeat(CRM, i) for i in range(records))
    assert repeats == records - len(people)
    assert 0.015 < repeats / records < 0.045


def test_vendor_noise_never_changes_the_truth() -> None:
    quiet = VendorProfile("crm", coverage=0.5, duplicate_share=0.03, accent_loss=0.0)
    noisy = VendorProfile(
        "crm", coverage=0.5, duplicate_share=0.03, accent_loss=0.9, name_typo=0.5, email_typo=0.5
    )
    calm, loud = World(8, vendors=(quiet,)), World(8, vendors=(noisy,))
    indices = range(2_000)
    assert [calm.truth(quiet, i) for i in indices] == [loud.truth(noisy, i) for i in indices]
    assert sum(calm.view(quiet, i) != loud.view(noisy, i) for i in indices) > 1_000


def test_a_vendors_records_are_its_person_with_that_vendors_noise() -> None:
    world = World(9, vendors=(CRM,))
    same_name = same_email = same_phone = phones = 0
    for index in range(2_000):
        record = world.view(CRM, index)
        who = world.individual(world.truth(CRM, index))
        typed = strip_accents(record.family_name).casefold()
        same_name += typed == strip_accents(who.family_name).casefold()
        if who.phone_valid and record.phone:
            phones += 1
            same_phone += normalise_phone(record.phone, who.region) == who.phone
        held = {e.casefold() for e in (who.email, who.other_email) if e}
        same_email += record.email is None or record.email.casefold() in held
    assert same_name / 2_000 > 0.95  # a typo now and then
    assert same_email / 2_000 > 0.97
    assert same_phone == phones  # every format still reads back to the person's number


def test_a_vendor_writes_phones_in_several_formats() -> None:
    world = World(10, vendors=(HELPDESK,))
    shapes = set()
    for index in range(1_000):
        phone = world.view(HELPDESK, index).phone
        if phone and phone[-1].isdigit():
            shapes.add(
                "e164"
                if phone.startswith("+") and phone[1:].isdigit()
                else "dial00"
                if phone.startswith("00")
                else "dashed"
                if phone.startswith("+") and "-" in phone and " " not in phone
                else "international"
                if phone.startswith("+")
                else "national"
            )
    assert shapes == {"e164", "international", "national", "dashed", "dial00"}


def test_generating_person_49999_does_not_generate_the_others() -> None:
    world = World(11, vendors=(CRM,))
    world.individual(49_999)
    assert world.built["individual"] == 1
    assert sum(world.built.values()) <= 12  # its name, phone, employer and household at most
    world.built.clear()
    world.view(CRM, 49_999)
    world.records_of(49_999)
    assert world.built["individual"] <= 1


def test_a_vendor_name_cannot_change_its_profile_within_a_world() -> None:
    world = World(1, vendors=(CRM,))
    assert world.vendor("crm") == CRM
    with pytest.raises(ValueError, match="'crm' is already in this world"):
        world.vendor(VendorProfile("crm", coverage=0.9))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: VendorProfile("x", coverage=1.5), r"coverage must be a share"),
        (lambda: VendorProfile("x", coverage=0), r"coverage must be above 0"),
        (lambda: VendorProfile("x", phone_styles=(("fax", 1),)), r"unknown \['fax'\]"),
        (lambda: Traps(namesake=-0.1), r"Traps.namesake must be a share"),
        (lambda: Traps(placeholder_phone=0.3, invalid_phone=0.3), r"phone traps"),
    ],
)
def test_bad_shares_are_refused_with_what_is_wrong(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]
