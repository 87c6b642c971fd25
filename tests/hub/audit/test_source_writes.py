"""Writes that reach a customer are on the trail: who queued a text, never the number or the
text; a role that may not send is refused, and the refusal is recorded."""

from __future__ import annotations

import json

import pytest

from hub.connector import OutboundMessage
from hub.errors import AccessDenied
from hub.runtime import Hub
from hub.services.outbox import enqueue_message
from hub.testing import MemorySource
from tests.hub.audit.test_access import act_as, trail

NUMBER, TEXT = "+14155550123", "Your case 42 was solved"


async def test_an_agent_queuing_a_text_is_recorded_without_the_number_or_the_text(
    hub: Hub, memory: MemorySource
) -> None:
    await act_as(hub, "agent")
    entry = await enqueue_message(hub, "mem", "case-42", OutboundMessage(to=NUMBER, body=TEXT))

    [queued] = await trail(hub, action="message.enqueue")
    assert queued["outcome"] == "success" and queued["principal"] == "agent-1"
    assert queued["target_id"] == str(entry) and queued["fields"] == ["to", "body"]
    assert NUMBER not in json.dumps(queued) and TEXT not in json.dumps(queued)


async def test_an_auditor_may_not_queue_a_text_and_the_attempt_is_recorded(
    hub: Hub, memory: MemorySource
) -> None:
    await act_as(hub, "auditor")
    with pytest.raises(AccessDenied, match="role auditor may not messages send"):
        await enqueue_message(hub, "mem", "case-42", OutboundMessage(to=NUMBER, body=TEXT))

    [denied] = await trail(hub, action="message.enqueue")
    assert denied["outcome"] == "denied" and denied["principal"] == "auditor-1"
