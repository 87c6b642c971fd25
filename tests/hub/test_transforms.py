"""Built-in mapping transforms and the transform registry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.transforms import BUILTINS, TransformRegistry, TransformSpecError, counting_drops


def bind(name: str, *args: Any, **kwargs: Any) -> Any:
    return TransformRegistry().bind(name, args, kwargs)


# -- value_map ---------------------------------------------------------------------------------


def test_value_map_translates_known_codes_and_keeps_null() -> None:
    status = bind("value_map", values={"hold": "on_hold", "open": "open"}, strict=True)
    assert status("hold") == "on_hold"
    assert status(None) is None
    assert status(["open", "hold"]) == ["open", "on_hold"]


def test_strict_value_map_rejects_unknown_code_without_quoting_it() -> None:
    status = bind("value_map", values={"open": "open"}, strict=True)
    with pytest.raises(ValueError, match="value_map") as caught:
        status("jane.doe@example.com")
    assert "jane" not in str(caught.value)


def test_value_map_with_default_maps_unknown_codes_to_it() -> None:
    channel = bind("value_map", values={"voice": "phone"}, default="other")
    assert channel("voice") == "phone"
    assert channel("whatsapp") == "other"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"values": {"a": "b"}},  # neither strict nor default
        {"values": {"a": "b"}, "strict": True, "default": "x"},  # both
        {"values": {}, "strict": True},  # empty table
        {"values": {"a": "b"}, "strict": "yes"},  # not a boolean
    ],
)
def test_value_map_demands_an_explicit_unknown_value_policy(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TransformSpecError, match="value_map"):
        bind("value_map", **kwargs)


# -- datetime and date -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-01T12:30:00Z",  # ISO 8601, Z for UTC
        "2024-03-01T12:30:00.000+0000",  # Salesforce
        "2024-03-01T14:30:00+02:00",
        "Fri, 01 Mar 2024 12:30:00 +0000",  # Twilio, RFC 2822
        1709296200,  # unix seconds
        1709296200.0,
        "2024-03-01T12:30:00",  # no offset: read as UTC
    ],
)
def test_datetime_reads_every_vendor_format_into_utc(raw: Any) -> None:
    assert bind("datetime")(raw) == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    assert bind("datetime")(raw).tzinfo is UTC


@pytest.mark.parametrize("raw", ["yesterday", "", True, {"at": 1}, 10**20, float("nan")])
def test_datetime_rejects_what_is_not_a_timestamp(raw: Any) -> None:
    with pytest.raises(ValueError):
        bind("datetime")(raw)


@given(
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.one_of(
            st.timezones(),
            # Text offsets are whole minutes (ISO 8601, RFC 3339); Python 3.11 drops the
            # sub-second part of any finer offset, so only text-expressible ones are drawn.
            st.integers(min_value=-23 * 60, max_value=23 * 60).map(
                lambda minutes: timezone(timedelta(minutes=minutes))
            ),
        ),
    )
)
def test_datetime_round_trips_any_aware_datetime_through_iso_text(moment: datetime) -> None:
    parsed = bind("datetime")(moment.isoformat())
    # Compared in UTC: a wall time inside a DST gap never compares equal across zones (PEP 495).
    assert parsed == moment.astimezone(UTC)
    assert parsed.utcoffset() == timedelta(0)


def test_date_reads_dates_and_the_date_part_of_timestamps() -> None:
    assert bind("date")("2025-12-31") == date(2025, 12, 31)
    assert bind("date")("2025-12-31T23:00:00Z") == date(2025, 12, 31)
    with pytest.raises(ValueError):
        bind("date")("31/12/2025")


# -- simple conversions ------------------------------------------------------------------------


def test_int_accepts_integral_numbers_and_numeric_text_only() -> None:
    to_int = bind("int")
    assert [to_int(12), to_int(12.0), to_int(" 12 "), to_int(None)] == [12, 12, 12, None]
    for bad in (12.5, True, "twelve", {"calendar": 3}):
        with pytest.raises(ValueError):
            to_int(bad)


def test_str_writes_booleans_as_json_does() -> None:
    assert [bind("str")(v) for v in (True, 7, "x")] == ["true", "7", "x"]
    with pytest.raises(ValueError):
        bind("str")({"a": 1})


def test_lower_and_strip_apply_to_each_element_of_a_list() -> None:
    assert bind("lower")(["Example.COM", None]) == ["example.com", None]
    assert bind("strip")(["  a ", "   "]) == ["a", None]
    with pytest.raises(ValueError, match="lower expects text"):
        bind("lower")(5)


def test_list_wraps_scalars_and_drops_nulls() -> None:
    as_list = bind("list")
    assert as_list(None) == []
    assert as_list("a") == ["a"]
    assert as_list(["a", None, "b"]) == ["a", "b"]


def test_split_and_join_are_inverse_for_clean_parts() -> None:
    assert bind("split", ",")("vip, gold,,") == ["vip", "gold"]
    assert bind("split")("a  b") == ["a", "b"]
    assert bind("join", ", ")(["vip", None, "gold"]) == "vip, gold"
    assert bind("join", ", ")([]) is None


def test_default_replaces_only_null() -> None:
    assert bind("default", "normal")(None) == "normal"
    assert bind("default", "normal")("") == ""


def test_ref_builds_references_and_keeps_null() -> None:
    to_user = bind("ref", "user")
    assert to_user(123) == "user/123"
    assert to_user([1, 2]) == ["user/1", "user/2"]
    assert to_user(None) is None
    for bad in (True, 1.5, "", {"id": 1}):
        with pytest.raises(ValueError):
            to_user(bad)
    with pytest.raises(TransformSpecError):
        bind("ref", "a/b")


# -- email and phone ---------------------------------------------------------------------------


def test_email_normalises_and_treats_blank_as_no_value() -> None:
    assert bind("email")("  Ann.Lee@Example.COM ") == "ann.lee@example.com"
    assert bind("email")("") is None


def test_email_list_drops_invalid_entries_and_counts_them_without_values() -> None:
    with counting_drops() as drops:
        kept = bind("email")(["ann@example.com", "not-an-address", None])
    assert kept == ["ann@example.com"]
    assert drops == ["email"]


def test_email_under_quarantine_policy_rejects_invalid_without_quoting_it() -> None:
    strict = bind("email", on_invalid="quarantine")
    with pytest.raises(ValueError, match="invalid email") as caught:
        strict(["ann@example.com", "secret-person-at-nowhere"])
    assert "secret-person" not in str(caught.value)


def test_phone_reads_national_numbers_in_the_default_region() -> None:
    assert bind("phone", "US")("(415) 555-0100") == "+14155550100"
    assert bind("phone")(["+44 20 7946 0958", "12"]) == ["+442079460958"]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("XX",), {}), ((), {"on_invalid": "ignore"}), (("US", "GB"), {})],
)
def test_phone_rejects_bad_arguments_at_bind_time(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TransformSpecError, match="phone"):
        bind("phone", *args, **kwargs)


_EXAMPLE_NUMBERS = [
    number
    for region in ("US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "ZA", "CH")
    if (number := phonenumbers.example_number(region)) is not None
]
_formatted_numbers = st.builds(
    phonenumbers.format_number,
    st.sampled_from(_EXAMPLE_NUMBERS),
    st.sampled_from(
        [phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164]
    ),
)


@settings(max_examples=50)
@given(st.lists(st.one_of(_formatted_numbers, st.text(max_size=20)), max_size=5))
def test_phone_normalisation_is_idempotent(numbers: list[str]) -> None:
    phone = bind("phone")
    once = phone(numbers)
    assert phone(once) == once


@settings(max_examples=40)  # email-validator is slow-ish; 40 lists exercise it enough
@given(st.lists(st.one_of(st.emails(), st.text(max_size=30)), max_size=5))
def test_email_normalisation_is_idempotent(addresses: list[str]) -> None:
    email = bind("email")
    once = email(addresses)
    assert email(once) == once


# -- registry ----------------------------------------------------------------------------------


def test_registry_names_known_transforms_when_one_is_unknown() -> None:
    with pytest.raises(
        TransformSpecError, match=r"transform upper: unknown; known transforms: .*value_map"
    ):
        bind("upper")


def test_plugin_transform_is_called_with_the_mapping_arguments() -> None:
    registry = TransformRegistry({"prefix": lambda value, text: f"{text}{value}"})
    assert registry.bind("prefix", ("zd-",), {})("7") == "zd-7"
    with pytest.raises(TransformSpecError, match="transform prefix: bad arguments"):
        registry.bind("prefix", (), {})


def test_plugin_transform_may_not_shadow_a_builtin() -> None:
    with pytest.raises(TransformSpecError, match="clash with built-ins: email"):
        TransformRegistry({"email": lambda value: value})


def test_every_builtin_rejects_unexpected_arguments() -> None:
    for name in BUILTINS:
        with pytest.raises(TransformSpecError, match=name):
            bind(name, 1, 2, 3, surplus=True)


# -- seconds -------------------------------------------------------------------------------------


def test_seconds_turns_a_duration_in_its_unit_into_whole_seconds() -> None:
    assert bind("seconds", "ms")(30_400) == 30
    assert bind("seconds", "min")([1.5, None]) == [90, None]
    assert bind("seconds")(None) is None
    with pytest.raises(ValueError, match="seconds expects a number"):
        bind("seconds", "ms")("12")


def test_seconds_refuses_an_unknown_unit_when_the_mapping_loads() -> None:
    with pytest.raises((TransformSpecError, ValueError), match="unit must be one of"):
        bind("seconds", "hours")
