"""A Genesys analytics conversation as the customer-facing sessions the hub stores.

A conversation has participants (customer, acd queues, agents, IVR, ...), each with sessions
made of segments and metrics. The hub keeps one Interaction per *customer-facing session*
(the customer's voice, callback, chat, message or email session), so this module turns a
conversation into one record per such session, with what the mapping needs side by side:

* the agents and queues that served that session: agent and acd sessions whose ``peerId``
  is the customer's session (or every one of them when the conversation has one customer
  session and names no peers);
* the last agent (after transfers), their wrap-up code, and the last queue;
* the handle-time parts summed over the agents' metrics (``tTalkComplete``,
  ``tHeldComplete``, ``tAcw``, ``tHandle``; milliseconds);
* the customer's addresses: ANI/DNIS and message addresses on the customer's side of the
  session's direction, ``tel:`` stripped, split into phones and emails.

The whole conversation travels along under ``conversation``, so the stored vendor record
keeps everything (surveys included) and a late change to the conversation changes the record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Record = dict[str, Any]
CUSTOMER_PURPOSES = frozenset({"customer", "external"})
CUSTOMER_MEDIA = frozenset({"voice", "callback", "chat", "message", "email"})
HANDLE_METRICS = ("tTalkComplete", "tHeldComplete", "tAcw", "tHandle")


def customer_sessions(conversation: Record) -> Iterator[Record]:
    """One record per customer-facing session of ``conversation``; none for an internal one."""
    participants = [p for p in conversation.get("participants") or [] if isinstance(p, dict)]
    customers = [
        (participant, session)
        for participant in participants
        if participant.get("purpose") in CUSTOMER_PURPOSES
        for session in _sessions(participant)
        if session.get("mediaType") in CUSTOMER_MEDIA
    ]
    for participant, session in customers:
        peers = _peers(participants, session.get("sessionId"), only_one=len(customers) == 1)
        yield _session_record(conversation, participant, session, peers)


def _sessions(participant: Record) -> list[Record]:
    return [s for s in participant.get("sessions") or [] if isinstance(s, dict)]


def _peers(participants: list[Record], session_id: Any, *, only_one: bool) -> list[Record]:
    """The (participant, session) pairs of agents and queues that served ``session_id``,
    each flattened as ``{purpose, userId, session}``, in conversation order."""
    found = []
    for participant in participants:
        if participant.get("purpose") not in ("agent", "acd"):
            continue
        for session in _sessions(participant):
            peer = session.get("peerId")
            if peer == session_id or (peer is None and only_one):
                found.append({"purpose": participant.get("purpose"),
                              "userId": participant.get("userId"), "session": session})  # fmt: skip
    return found


def _segments(session: Record) -> list[Record]:
    return [s for s in session.get("segments") or [] if isinstance(s, dict)]


def _session_record(
    conversation: Record, participant: Record, session: Record, peers: list[Record]
) -> Record:
    agents = [peer for peer in peers if peer["purpose"] == "agent"]
    segments = _segments(session)
    starts = sorted(str(s["segmentStart"]) for s in segments if s.get("segmentStart"))
    ends = sorted(str(s["segmentEnd"]) for s in segments if s.get("segmentEnd"))
    phones, emails = _customer_addresses(session)
    record: Record = {
        "sessionId": session.get("sessionId"),
        "conversationId": conversation.get("conversationId"),
        "conversationStart": conversation.get("conversationStart"),
        "conversationEnd": conversation.get("conversationEnd"),
        "mediaType": session.get("mediaType"),
        "messageType": session.get("messageType"),
        "direction": session.get("direction") or conversation.get("originatingDirection"),
        "externalContactId": participant.get("externalContactId"),
        "startedAt": starts[0] if starts else conversation.get("conversationStart"),
        "endedAt": ends[-1] if ends else conversation.get("conversationEnd"),
        "agentUserId": agents[-1]["userId"] if agents else None,
        "queueId": _last_queue(peers),
        "wrapUpCode": _last_wrap_up(agents),
        "abandoned": not agents,
        "handleTime": _handle_time(agents),
        "customerPhones": phones,
        "customerEmails": emails,
        "conversation": conversation,
    }
    return record


def _last_queue(peers: list[Record]) -> Any:
    queues = [s.get("queueId") for p in peers for s in _segments(p["session"]) if s.get("queueId")]
    return queues[-1] if queues else None


def _last_wrap_up(agents: list[Record]) -> Any:
    codes = [s.get("wrapUpCode") for a in agents for s in _segments(a["session"])
             if s.get("wrapUpCode")]  # fmt: skip
    return codes[-1] if codes else None


def _handle_time(agents: list[Record]) -> Record:
    """Milliseconds per handle-time metric, summed over the agents; absent when none had it."""
    totals: Record = {}
    for agent in agents:
        for metric in agent["session"].get("metrics") or []:
            name, value = metric.get("name"), metric.get("value")
            if name in HANDLE_METRICS and isinstance(value, int | float):
                totals[name] = totals.get(name, 0) + value
    return totals


def _customer_addresses(session: Record) -> tuple[list[str], list[str]]:
    """The customer's side of the session: ANI (inbound) or DNIS (outbound), message and
    email addresses, callback numbers; ``tel:`` URIs stripped to the number."""
    inbound = session.get("direction", "inbound") != "outbound"
    sides = ("ani", "addressFrom") if inbound else ("dnis", "addressTo")
    values = [session.get(key) for key in sides]
    values += list(session.get("callbackNumbers") or [])
    phones: list[str] = []
    emails: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value or value.startswith("sip:"):
            continue  # a SIP URI names a device, not the customer's number or mailbox
        address = value.removeprefix("tel:")
        target = emails if "@" in address else phones
        if address not in target and address != "anonymous":
            target.append(address)
    return phones, emails
