"""The Zendesk mapping file (mappings/zendesk.yaml): what each stream's records become, and
that no record, however odd, does anything but map or raise RecordInvalid."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import MappingError, RecordInvalid
from hub.mapping import Mapping, Tombstone, load_mapping
from hub.models import Agent, Case, CaseMetrics, Customer, Interaction, Organization

REPO = Path(__file__).resolve().parents[3]
ZENDESK = REPO / "mappings" / "zendesk.yaml"
_ZENDESK = load_mapping(ZENDESK, transforms={})  # loaded once: tests only apply it


def zendesk() -> Mapping:
    return _ZENDESK


def apply(stream: str, raw: dict[str, Any]) -> Any:
    return zendesk().stream(stream).apply(raw, system="zendesk", connection="zd")


def test_unknown_stream_names_the_mapped_ones() -> None:
    with pytest.raises(MappingError, match="no mapping for stream 'groups'; mapped streams: "):
        zendesk().stream("groups")


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
