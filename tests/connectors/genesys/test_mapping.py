"""A Genesys conversation becomes one Interaction per customer-facing session, with its
channel, direction, queue, agent, wrap-up, handle-time parts and the customer's addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.genesys.sessions import customer_sessions
from hub.mapping import load_mapping
from hub.models import Interaction

MAPPING = load_mapping(Path(__file__).resolve().parents[3] / "mappings" / "genesys.yaml")


def _segment(kind: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"segmentType": kind, "segmentStart": f"2026-11-02T10:{start}.000Z",
            "segmentEnd": f"2026-11-02T10:{end}.000Z", **extra}  # fmt: skip


def _agent(user: str, peer: str, queue: str, code: str, talk: int, hold: int, acw: int) -> Any:
    metrics = {"tTalkComplete": talk, "tHeldComplete": hold, "tAcw": acw,
               "tHandle": talk + hold + acw}  # fmt: skip
    return {
        "purpose": "agent",
        "userId": user,
        "sessions": [{
            "sessionId": f"s-{user}", "mediaType": "voice", "peerId": peer,
            "segments": [_segment("interact", "01:00", "05:00", queueId=queue),
                         _segment("wrapup", "05:00", "06:00", wrapUpCode=code)],
            "metrics": [{"name": k, "value": v} for k, v in metrics.items() if v],
        }],
    }  # fmt: skip


def _conversation(**customer_session: Any) -> dict[str, Any]:
    session = {"sessionId": "cs-1", "mediaType": "voice", "direction": "inbound",
               "ani": "tel:+14155550123", "dnis": "tel:+18005550100",
               "segments": [_segment("interact", "00:00", "09:00")],
               **customer_session}  # fmt: skip
    return {
        "conversationId": "c-1",
        "conversationStart": "2026-11-02T10:00:00.000Z",
        "conversationEnd": "2026-11-02T10:09:00.000Z",
        "originatingDirection": "inbound",
        "participants": [
            {"purpose": "customer", "externalContactId": "ext-9", "sessions": [session]},
            {"purpose": "acd", "sessions": [{"sessionId": "q", "mediaType": "voice",
             "peerId": "cs-1", "segments": [_segment("interact", "00:00", "00:40",
                                                     queueId="queue-a")]}]},
            _agent("agent-1", "cs-1", "queue-a", "code-x", 120_000, 30_400, 20_000),
            _agent("agent-2", "cs-1", "queue-b", "code-y", 60_000, 0, 9_600),
        ],
    }  # fmt: skip


def _interactions(conversation: dict[str, Any]) -> list[Interaction]:
    stream = MAPPING.stream("conversations")
    mapped = [stream.apply(r, system="genesys", connection="gc")
              for r in customer_sessions(conversation)]  # fmt: skip
    assert all(isinstance(m, Interaction) for m in mapped)
    return mapped  # type: ignore[return-value]


def test_a_transferred_call_is_one_interaction_of_the_last_agent_queue_and_wrap_up() -> None:
    [call] = _interactions(_conversation())
    assert call.provenance.external_id == "cs-1"
    assert (call.interaction_kind, call.channel, call.direction) == ("call", "phone", "inbound")
    assert (call.agent_ref, call.queue_ref, call.wrap_up_ref) == (
        "user/agent-2", "queue/queue-b", "wrap_up_code/code-y",
    )  # fmt: skip
    assert call.customer_ref == "external_contact/ext-9"
    assert call.conversation_ref == "conversation/c-1"
    # Both agents' parts add up: talk 120 + 60 s, hold 30.4 s, after-call work 20 + 9.6 s.
    assert (call.talk_seconds, call.hold_seconds, call.after_call_work_seconds) == (180, 30, 30)
    assert call.duration_seconds == 240
    assert call.customer_phones == ["+14155550123"]
    assert (
        call.started_at is not None and call.started_at.isoformat() == "2026-11-02T10:00:00+00:00"
    )


def test_an_outbound_call_takes_the_customer_number_from_the_dnis() -> None:
    [call] = _interactions(
        _conversation(direction="outbound", ani="tel:+18005550100", dnis="tel:+442071838750")
    )
    assert call.direction == "outbound" and call.customer_phones == ["+442071838750"]


def test_an_abandoned_call_has_its_queue_but_no_agent_and_no_handle_time() -> None:
    conversation = _conversation()
    conversation["participants"] = conversation["participants"][:2]
    [call] = _interactions(conversation)
    assert call.agent_ref is None and call.wrap_up_ref is None
    assert call.queue_ref == "queue/queue-a"
    assert call.talk_seconds is None and call.duration_seconds is None


@pytest.mark.parametrize(
    ("session", "kind", "channel"),
    [
        ({"mediaType": "email", "addressFrom": "Ann@Example.com", "addressTo": "support@x.example",
          "ani": None, "dnis": None}, "email", "email"),
        ({"mediaType": "message", "messageType": "sms", "addressFrom": "+14155550123",
          "ani": None, "dnis": None}, "message", "sms"),
        ({"mediaType": "message", "messageType": "whatsapp", "ani": None, "dnis": None},
         "message", "messaging"),
        ({"mediaType": "chat", "ani": None, "dnis": None}, "chat", "chat"),
        ({"mediaType": "callback", "callbackNumbers": ["tel:+14155550123"]}, "call", "phone"),
    ],
)  # fmt: skip
def test_each_media_type_maps_to_its_kind_and_channel(
    session: dict[str, Any], kind: str, channel: str
) -> None:
    [interaction] = _interactions(_conversation(**session))
    assert (interaction.interaction_kind, interaction.channel) == (kind, channel)
    if session["mediaType"] == "email":
        assert interaction.customer_emails == ["ann@example.com"]
        assert interaction.customer_phones == []


def test_a_conversation_without_a_customer_session_stores_nothing() -> None:
    conversation = _conversation()
    conversation["participants"] = conversation["participants"][2:]  # agents only: internal
    assert list(customer_sessions(conversation)) == []


def test_a_late_survey_scores_the_interaction() -> None:
    conversation = {**_conversation(), "surveys": [{"oSurveyTotalScore": 4}]}
    [call] = _interactions(conversation)
    assert call.score == "4"


def test_an_unknown_media_type_is_not_a_customer_session() -> None:
    assert list(customer_sessions(_conversation(mediaType="screenshare"))) == []
