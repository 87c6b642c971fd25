"""Mapping files: validation on load (file and line), and mapping vendor records."""

from __future__ import annotations

import contextlib
import logging
import re
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pluggy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import plugins
from hub.errors import MappingError, RecordInvalid
from hub.mapping import Mapping, Tombstone, find_mapping, load_mapping
from hub.models import Agent, Case, CaseMetrics, Customer, Interaction, Organization

REPO = Path(__file__).resolve().parents[2]
ZENDESK = REPO / "mappings" / "zendesk.yaml"


@pytest.fixture(autouse=True)
def isolated_plugins(monkeypatch: pytest.MonkeyPatch) -> pluggy.PluginManager:
    """A plugin manager without installed entry points, so only this test's plugins count."""
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(plugins.HubSpec)
    monkeypatch.setattr(plugins, "plugin_manager", lambda: pm)
    return pm


def write(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def marked_line(path: Path) -> int:
    """The line carrying the ``# <-`` marker: where the error must point."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if "# <-" in line)


_ZENDESK = load_mapping(ZENDESK, transforms={})  # loaded once: tests only apply it


def zendesk() -> Mapping:
    return _ZENDESK


def apply(stream: str, raw: dict[str, Any]) -> Any:
    return zendesk().stream(stream).apply(raw, system="zendesk", connection="zd")


# -- validation: every error names the file and the line ---------------------------------------

HEAD = """
version: "acme-1"
connector: acme
streams:
  people:
    object_type: person
    id: id
    updated_at: updated_at
    targets:
"""

INVALID = {
    "unknown top-level key": (
        'version: "acme-1"\nconnector: acme\nowner: me  # <-\nstreams: {}\n',
        "owner: unknown key",
    ),
    "unknown stream key": (
        HEAD.replace("    id: id", "    id: id\n    cursor: updated_at  # <-")
        + "      - model: customer\n        fields: {}\n",
        "cursor",
    ),
    "unknown model": (HEAD + "      - model: person  # <-\n        fields: {}\n", "unknown model"),
    "unknown canonical field": (
        HEAD + "      - model: customer\n        fields:\n          nickname: nick  # <-\n",
        "no field 'nickname'",
    ),
    "unknown transform": (
        HEAD
        + "      - model: customer\n        fields:\n"
        + "          locale:\n            path: locale\n            transforms:\n"
        + "              - lower\n              - upper  # <-\n",
        "transform upper: unknown",
    ),
    "value_map without a policy for unknown values": (
        HEAD
        + "      - model: customer\n        fields:\n"
        + "          locale:\n            path: locale\n            transforms:\n"
        + "              - value_map:  # <-\n                  values: {en: en-US}\n",
        "exactly one of 'strict: true' or 'default'",
    ),
    "bad transform arguments": (
        HEAD
        + "      - model: customer\n        fields:\n"
        + "          phones: {path: phone, transforms: [{phone: [US, GB]}]}  # <-\n",
        "transform phone: bad arguments",
    ),
    "bad JMESPath expression": (
        HEAD + "      - model: customer\n        fields:\n          locale: 'user.[locale'  # <-\n",
        "bad JMESPath expression",
    ),
    "unknown JMESPath function": (
        HEAD + "      - model: customer\n        when: shout(role)  # <-\n        fields: {}\n",
        "unknown JMESPath function(s) shout",
    ),
    "required canonical field not mapped": (
        HEAD + "      - model: organization\n        fields:  # <-\n          tags: tags\n",
        "needs field(s) name",
    ),
    "two sources for one field": (
        HEAD
        + "      - model: customer\n        fields:\n"
        + "          locale: {path: locale, const: en}  # <-\n",
        "exactly one of path, const, coalesce, concat",
    ),
    "target after a catch-all target": (
        HEAD
        + "      - model: customer  # <-\n        fields: {}\n"
        + "      - model: agent\n        fields: {}\n",
        "unreachable",
    ),
    "duplicate key": (
        HEAD + "      - model: customer\n        fields:\n          locale: a\n"
        "          locale: b  # <-\n",
        "duplicate key 'locale'",
    ),
    "YAML syntax error": (
        HEAD + "      - model: customer\n        fields:\n          locale: a: b  # <-\n",
        "not valid YAML: mapping values are not allowed here",
    ),
    "version that is not text": (
        "version: 1  # <-\nconnector: acme\nstreams: {}\n",
        "valid string",
    ),
}


@pytest.mark.parametrize("case", list(INVALID), ids=list(INVALID))
def test_invalid_mapping_error_names_file_and_line(tmp_path: Path, case: str) -> None:
    text, expected = INVALID[case]
    path = write(tmp_path, text)
    with pytest.raises(MappingError, match=re.escape(expected)) as caught:
        load_mapping(path, transforms={})
    line = marked_line(path)
    assert (caught.value.file, caught.value.line) == (str(path), line)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_unknown_stream_names_the_mapped_ones() -> None:
    with pytest.raises(MappingError, match="no mapping for stream 'groups'; mapped streams: "):
        zendesk().stream("groups")


# -- finding mapping files ---------------------------------------------------------------------


def test_first_directory_holding_the_file_wins(tmp_path: Path) -> None:
    operator, shipped = tmp_path / "operator", tmp_path / "shipped"
    operator.mkdir()
    shipped.mkdir()
    (shipped / "zendesk.yaml").write_text(ZENDESK.read_text())
    edited = ZENDESK.read_text().replace('version: "zendesk-1"', 'version: "zendesk-1-local"')
    (operator / "zendesk.yaml").write_text(edited)
    assert find_mapping("zendesk", [operator, shipped]).version == "zendesk-1-local"
    assert find_mapping("zendesk", [tmp_path, shipped]).version == "zendesk-1"


def test_missing_mapping_file_lists_the_directories_searched(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=f"no mapping file genesys.yaml in: {tmp_path}, "):
        find_mapping("genesys", [tmp_path, REPO / "mappings"])


def test_mapping_file_for_another_connector_is_refused(tmp_path: Path) -> None:
    (tmp_path / "twilio.yaml").write_text(ZENDESK.read_text())
    with pytest.raises(MappingError, match="connector: 'zendesk'") as caught:
        find_mapping("twilio", [tmp_path])
    assert caught.value.line == 6


# -- the Zendesk mapping -----------------------------------------------------------------------

END_USER = {
    "id": 35436,
    "url": "https://acme.zendesk.com/api/v2/users/35436.json",
    "name": "Johnny Agent",
    "email": "Johnny.Appleseed@Example.com",
    "phone": "+1 (415) 555-0100",
    "role": "end-user",
    "organization_id": 57542,
    "active": True,
    "verified": True,
    "locale": "en-US",
    "time_zone": "Pacific Time (US & Canada)",
    "tags": ["vip", "beta"],
    "user_fields": {"plan": "gold"},
    "created_at": "2009-07-20T22:55:29Z",
    "updated_at": "2011-05-05T10:38:52Z",
}

TICKET = {
    "id": 35436,
    "url": "https://acme.zendesk.com/api/v2/tickets/35436.json",
    "external_id": "ahg35h3jh",
    "type": "incident",
    "subject": "Help, my printer is on fire!",
    "description": "The fire is very colorful.",
    "priority": "high",
    "status": "hold",
    "requester_id": 20978392,
    "submitter_id": 76872,
    "assignee_id": 235323,
    "organization_id": 509974,
    "group_id": 98738,
    "due_at": None,
    "tags": ["enterprise", "other_tag"],
    "via": {"channel": "voice", "source": {"from": {}, "to": {}, "rel": None}},
    "satisfaction_rating": {"id": 1234, "score": "good", "comment": "Great support!"},
    "created_at": "2009-07-20T22:55:29Z",
    "updated_at": "2011-05-05T10:38:52Z",
    "generated_timestamp": 1304591932,
}


def test_end_user_becomes_a_customer_with_normalised_contacts() -> None:
    customer = apply("users", END_USER)
    assert isinstance(customer, Customer)
    assert customer.provenance.external_id == "35436"
    assert customer.provenance.object_type == "user"
    assert customer.provenance.source_updated_at == datetime(2011, 5, 5, 10, 38, 52, tzinfo=UTC)
    assert customer.emails == ["johnny.appleseed@example.com"]
    assert customer.phones == ["+14155550100"]
    assert customer.organization_ref == "organization/57542"
    assert customer.tags == ["vip", "beta"]
    assert customer.created_at == datetime(2009, 7, 20, 22, 55, 29, tzinfo=UTC)
    assert customer.raw == END_USER


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_agents_and_admins_become_agents_not_customers(role: str) -> None:
    agent = apply("users", {**END_USER, "role": role})
    assert isinstance(agent, Agent)
    assert (agent.role, agent.emails) == (role, ["johnny.appleseed@example.com"])


def test_user_without_email_or_phone_maps_to_empty_contact_lists() -> None:
    customer = apply("users", {**END_USER, "email": None, "phone": ""})
    assert (customer.emails, customer.phones) == ([], [])


def test_invalid_phone_is_dropped_and_logged_without_the_number(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="hub.mapping"):
        customer = apply("users", {**END_USER, "phone": "555-CALL-ME-NOW"})
    assert customer.phones == []
    assert customer.emails == ["johnny.appleseed@example.com"]
    assert "dropped 1 invalid phone value(s) of field phones" in caplog.text
    assert "CALL" not in caplog.text


def test_organization_maps_name_domains_and_tags() -> None:
    org = apply(
        "organizations",
        {
            "id": 4112492,
            "name": "Groablet Enterprises",
            "domain_names": ["Remain.com"],
            "tags": ["smiley"],
            "created_at": "2018-11-14T00:14:52Z",
            "updated_at": "2018-11-14T00:54:22Z",
        },
    )
    assert isinstance(org, Organization)
    assert (org.name, org.domains, org.tags) == ("Groablet Enterprises", ["remain.com"], ["smiley"])


def test_ticket_becomes_a_case_with_canonical_codes_and_references() -> None:
    case = apply("tickets", TICKET)
    assert isinstance(case, Case)
    assert (case.status, case.priority, case.channel) == ("on_hold", "high", "phone")
    assert case.customer_ref == "user/20978392"
    assert case.assignee_ref == "user/235323"
    assert case.organization_ref == "organization/509974"
    assert case.tags == ["enterprise", "other_tag"]
    assert case.due_at is None
    assert case.provenance.object_type == "ticket"


@pytest.mark.parametrize(
    ("channel", "expected"),
    [("mobile_sdk", "messaging"), ("twitter", "social"), ("whatsapp", "other"), (None, None)],
)
def test_ticket_channel_maps_known_values_and_lumps_the_rest_into_other(
    channel: str | None, expected: str | None
) -> None:
    case = apply("tickets", {**TICKET, "via": {"channel": channel}})
    assert case.channel == expected


def test_ticket_without_priority_has_none() -> None:
    assert apply("tickets", {**TICKET, "priority": None}).priority is None


def test_deleted_ticket_becomes_a_tombstone() -> None:
    gone = apply("tickets", {**TICKET, "status": "deleted"})
    assert gone == Tombstone("ticket", "35436", datetime(2011, 5, 5, 10, 38, 52, tzinfo=UTC))


@pytest.mark.parametrize("field", ["status", "priority"])
def test_unknown_status_or_priority_is_invalid_and_the_value_is_not_quoted(field: str) -> None:
    with pytest.raises(RecordInvalid) as caught:
        apply("tickets", {**TICKET, field: "escalated-by-jane"})
    message = str(caught.value)
    assert f"{field}: value is not in the value_map (strict)" in message
    assert "escalated" not in message
    assert caught.value.external_id == "35436"


def test_ticket_without_status_is_invalid_because_status_is_required() -> None:
    with pytest.raises(RecordInvalid, match="status: Field required"):
        apply("tickets", {**TICKET, "status": None})


def test_model_validation_errors_name_fields_but_not_personal_values() -> None:
    record = {**TICKET, "subject": {"text": "Jane Roe's divorce"}, "due_at": "soon-ish"}
    with pytest.raises(RecordInvalid) as caught:
        apply("tickets", record)
    message = str(caught.value)
    assert "due_at" in message
    assert "Jane" not in message
    assert "soon-ish" not in message


def test_pydantic_type_errors_are_reported_without_the_input() -> None:
    with pytest.raises(RecordInvalid, match=r"subject: Input should be a valid string") as caught:
        apply("tickets", {**TICKET, "subject": ["Jane Roe's divorce"]})
    assert "Jane" not in str(caught.value)


def test_ticket_metrics_become_case_metrics_in_calendar_minutes() -> None:
    metrics = apply(
        "ticket_metrics",
        {
            "id": 33,
            "ticket_id": 4343,
            "reopens": 55,
            "replies": 322,
            "reply_time_in_minutes": {"calendar": 2391, "business": 737},
            "first_resolution_time_in_minutes": {"calendar": 2391, "business": 737},
            "full_resolution_time_in_minutes": {"calendar": 2391, "business": 737},
            "agent_wait_time_in_minutes": {"calendar": 2391, "business": 737},
            "solved_at": "2011-05-09T10:38:52Z",
            "created_at": "2009-07-20T22:55:29Z",
            "updated_at": "2011-05-05T10:38:52Z",
        },
    )
    assert isinstance(metrics, CaseMetrics)
    assert metrics.case_ref == "ticket/4343"
    assert (metrics.first_reply_minutes, metrics.full_resolution_minutes) == (2391, 2391)
    assert (metrics.reopens, metrics.replies) == (55, 322)
    assert metrics.solved_at == datetime(2011, 5, 9, 10, 38, 52, tzinfo=UTC)


def test_unanswered_ticket_has_no_reply_time() -> None:
    metrics = apply(
        "ticket_metrics",
        {
            "id": 34,
            "ticket_id": 4344,
            "reply_time_in_minutes": {"calendar": None, "business": None},
            "updated_at": "2011-05-05T10:38:52Z",
        },
    )
    assert metrics.first_reply_minutes is None


def test_satisfaction_rating_becomes_a_survey_interaction() -> None:
    survey = apply(
        "satisfaction_ratings",
        {
            "id": 35436,
            "url": "https://acme.zendesk.com/api/v2/satisfaction_ratings/35436.json",
            "assignee_id": 135,
            "group_id": 44,
            "requester_id": 7881,
            "ticket_id": 208,
            "score": "good",
            "comment": "Awesome support!",
            "created_at": "2011-07-20T22:55:29Z",
            "updated_at": "2011-07-20T22:55:29Z",
        },
    )
    assert isinstance(survey, Interaction)
    assert (survey.interaction_kind, survey.score, survey.body) == (
        "survey",
        "good",
        "Awesome support!",
    )
    assert (survey.customer_ref, survey.case_ref, survey.agent_ref) == (
        "user/7881",
        "ticket/208",
        "user/135",
    )
    assert survey.started_at == datetime(2011, 7, 20, 22, 55, 29, tzinfo=UTC)


def test_record_without_an_id_is_invalid() -> None:
    with pytest.raises(RecordInvalid, match="id: no usable id") as caught:
        apply("users", {**END_USER, "id": None})
    assert caught.value.external_id is None


# -- field sources and plugins -----------------------------------------------------------------

SOURCES = """
version: "acme-1"
connector: acme
streams:
  people:
    object_type: person
    id: {path: ref, transforms: [str]}
    updated_at: modified
    targets:
      - model: customer
        fields:
          display_name: {concat: [first, last], separator: " "}
          locale: {coalesce: [prefs.locale, locale], default: en-US}
          time_zone: {const: UTC}
          tags: {path: labels, transforms: [{split: ","}]}
"""


def test_concat_coalesce_const_and_default_fill_fields(tmp_path: Path) -> None:
    stream = load_mapping(write(tmp_path, SOURCES)).stream("people")
    raw = {"ref": 9, "modified": 1700000000, "first": "Ada", "last": None, "labels": "a, b"}
    person = stream.apply(raw, system="acme", connection="a1")
    assert isinstance(person, Customer)
    assert person.provenance.external_id == "9"
    assert person.provenance.source_updated_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert (person.display_name, person.locale, person.time_zone) == ("Ada", "en-US", "UTC")
    assert person.tags == ["a", "b"]
    raw2 = {**raw, "last": "Lovelace", "locale": "fr-FR", "prefs": {"locale": "de-DE"}}
    person2 = stream.apply(raw2, system="acme", connection="a1")
    assert isinstance(person2, Customer)
    assert (person2.display_name, person2.locale) == ("Ada Lovelace", "de-DE")


class ShoutPlugin:
    """A third-party plugin contributing one transform."""

    @plugins.hookimpl
    def hub_register_transforms(self) -> dict[str, Callable[..., Any]]:
        def shout(value: Any, suffix: str = "!") -> Any:
            if value == "boom":
                raise ValueError(f"cannot shout {value}")
            return None if value is None else f"{str(value).upper()}{suffix}"

        return {"shout": shout}


PLUGGED = SOURCES.replace(
    "time_zone: {const: UTC}", "time_zone: {path: first, transforms: [{shout: '?'}]}"
)


def test_transform_registered_by_a_plugin_is_usable(
    tmp_path: Path, isolated_plugins: pluggy.PluginManager
) -> None:
    isolated_plugins.register(ShoutPlugin())
    stream = load_mapping(write(tmp_path, PLUGGED)).stream("people")
    person = stream.apply({"ref": 1, "first": "ada"}, system="acme", connection="a1")
    assert isinstance(person, Customer)
    assert person.time_zone == "ADA?"


def test_plugin_transform_failure_is_reported_without_its_message(
    tmp_path: Path, isolated_plugins: pluggy.PluginManager
) -> None:
    isolated_plugins.register(ShoutPlugin())
    stream = load_mapping(write(tmp_path, PLUGGED)).stream("people")
    with pytest.raises(RecordInvalid, match="time_zone: transform 'shout' rejected") as caught:
        stream.apply({"ref": 1, "first": "boom"}, system="acme", connection="a1")
    assert "boom" not in str(caught.value)


def test_mapping_using_a_plugin_transform_fails_to_load_without_the_plugin(
    tmp_path: Path,
) -> None:
    with pytest.raises(MappingError, match="transform shout: unknown"):
        load_mapping(write(tmp_path, PLUGGED))


def test_plugin_transform_named_like_a_builtin_is_a_mapping_error(
    tmp_path: Path, isolated_plugins: pluggy.PluginManager
) -> None:
    class Clash:
        @plugins.hookimpl
        def hub_register_transforms(self) -> dict[str, Callable[..., Any]]:
            return {"phone": lambda value: value}

    isolated_plugins.register(Clash())
    with pytest.raises(MappingError, match="clash with built-ins: phone"):
        load_mapping(write(tmp_path, SOURCES))


# -- robustness --------------------------------------------------------------------------------

_KEY_NAMES = [
    "id", "name", "email", "phone", "role", "status", "priority", "via", "channel",
    "updated_at", "created_at", "tags", "organization_id", "requester_id", "ticket_id",
    "reply_time_in_minutes", "calendar", "score", "domain_names", "solved_at", "due_at",
]  # fmt: skip
_KEYS = st.sampled_from(_KEY_NAMES)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["agent", "deleted", "open", "hold", "good", "2011-05-05T10:38:52Z"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=12,
)
# Mostly well-identified records, so the fields behind id and updated_at get exercised too.
_RECORDS = st.fixed_dictionaries(
    {
        # deferred() keeps one_of from flattening the scalars into many equal-weight branches.
        "id": st.one_of(st.integers(min_value=1, max_value=2**53), st.deferred(lambda: _SCALARS)),
        "updated_at": st.one_of(
            st.just("2011-05-05T10:38:52Z"), st.integers(), st.deferred(lambda: _SCALARS)
        ),
    },
    optional={key: _JSON for key in _KEY_NAMES if key not in ("id", "updated_at")},
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(
    stream=st.sampled_from(
        ["users", "organizations", "tickets", "ticket_metrics", "satisfaction_ratings"]
    ),
    raw=_RECORDS,
)
def test_arbitrary_json_maps_or_raises_record_invalid_only(
    stream: str, raw: dict[str, Any]
) -> None:
    with contextlib.suppress(RecordInvalid):
        zendesk().stream(stream).apply(raw, system="zendesk", connection="zd")


# -- the reference documentation ---------------------------------------------------------------


def test_examples_in_the_mapping_reference_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = (REPO / "docs" / "mappings.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(yaml|python)\n(.*?)```", doc, flags=re.DOTALL)
    yaml_examples = [body for lang, body in blocks if lang == "yaml" and "version:" in body]
    python_examples = [body for lang, body in blocks if lang == "python"]
    assert yaml_examples and python_examples
    for i, body in enumerate(yaml_examples):
        load_mapping(write(tmp_path, body, name=f"example{i}.yaml"), transforms={})
    monkeypatch.chdir(REPO)
    for body in python_examples:
        exec(compile(body, "docs/mappings.md", "exec"), {})
