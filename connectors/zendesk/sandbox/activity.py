"""What happened on a ticket: its comments, its audits and its metric events.

All three are derived from the ticket as it is now (plus the seed), so they cost nothing until
asked for and a ticket changed at runtime keeps its history. Each audit carries one comment
event, as when an agent or requester replies; the first audit also records the ticket's
creation. Metric events are a fixed four per generated ticket, at the ticket's change time, so
their export is a pure function of the ticket timeline. Shapes follow
https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/ ,
.../tickets/ticket_audits/ and .../tickets/ticket_metric_events/ .
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from connectors.zendesk.sandbox.records import USER_ID_BASE, ZendeskRecords
from hub.sandbox.data import iso, rng_for

COMMENT_ID_BASE = 600_000_000_000
AUDIT_ID_BASE = 650_000_000_000
METRIC_EVENT_ID_BASE = 750_000_000_000
MAX_COMMENTS = 4  # per ticket; ids leave room for this many
COMMENT_SLOTS = 8
# (metric, type) of each generated ticket's events, in time order.
METRIC_EVENTS = (
    ("reply_time", "activate"),
    ("agent_work_time", "activate"),
    ("requester_wait_time", "activate"),
    ("reply_time", "fulfill"),
)
_AGENT_REPLIES = (
    "Thanks for reaching out. Could you send us the serial number?",
    "We have escalated this to our engineers.",
    "Merci, nous regardons cela.",
    "A replacement is on its way.",
)
_REQUESTER_REPLIES = (
    "Any update?",
    "Here is the serial: SN-4471",
    "Danke, es geht wieder!",
    "まだ直りません",
)
_CREATE_FIELDS = ("status", "priority", "type", "subject")


def _unix(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


class TicketActivity:
    """Comments, audits and metric events of the sandbox's tickets."""

    def __init__(self, records: ZendeskRecords) -> None:
        self.records = records

    # -- comments and audits ------------------------------------------------------------------

    def comment_count(self, ticket: dict[str, Any]) -> int:
        """How many comments ``ticket`` has: one for a ticket created at runtime."""
        ticket_id = int(ticket["id"])
        if self.records.ticket_index(ticket_id) is None:
            return 1
        return rng_for(self.records.seed, "comments", ticket_id).randint(1, MAX_COMMENTS)

    def comment(self, ticket: dict[str, Any], number: int) -> dict[str, Any]:
        """Comment ``number`` of ``ticket``: the description first, then replies in turn."""
        ticket_id = int(ticket["id"])
        rng = rng_for(self.records.seed, "comment", ticket_id * COMMENT_SLOTS + number)
        agent_turn = number % 2 == 1
        if number == 0:
            body, author = str(ticket.get("description") or ""), ticket["requester_id"]
        elif agent_turn:
            body = rng.choice(_AGENT_REPLIES)
            author = ticket.get("assignee_id") or USER_ID_BASE  # the admin answers unassigned
        else:
            body, author = rng.choice(_REQUESTER_REPLIES), ticket["requester_id"]
        public = not (agent_turn and rng.random() < 0.25)  # some agent comments are notes
        paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in body.split("\n") if line)
        return {
            "id": COMMENT_ID_BASE + ticket_id * COMMENT_SLOTS + number,
            "type": "Comment",
            "author_id": author,
            "body": body,
            "html_body": f'<div class="zd-comment" dir="auto">{paragraphs}</div>',
            "plain_body": body,
            "public": public,
            "attachments": [],
            "audit_id": AUDIT_ID_BASE + ticket_id * COMMENT_SLOTS + number,
            "via": self._via(ticket, number),
            "created_at": self._comment_time(ticket, number),
            "metadata": {"system": {}, "custom": {}},
        }

    def audit(self, ticket: dict[str, Any], number: int) -> dict[str, Any]:
        """Audit ``number`` of ``ticket``: the change that added comment ``number``."""
        comment = self.comment(ticket, number)
        events: list[dict[str, Any]] = [
            {key: comment[key] for key in
             ("id", "type", "author_id", "body", "html_body", "plain_body", "public",
              "attachments", "audit_id")}
        ]  # fmt: skip
        event_id = comment["id"] * 10
        if number == 0:
            for offset, field in enumerate(_CREATE_FIELDS, start=1):
                if ticket.get(field) is not None:
                    events.append(
                        {"id": event_id + offset, "type": "Create", "field_name": field,
                         "value": ticket[field]}
                    )  # fmt: skip
        elif number == self.comment_count(ticket) - 1 and ticket.get("status") not in (
            None,
            "new",
            "open",
        ):
            events.append(
                {"id": event_id + 1, "type": "Change", "field_name": "status",
                 "value": ticket["status"], "previous_value": "open"}
            )  # fmt: skip
        return {
            "id": comment["audit_id"],
            "ticket_id": ticket["id"],
            "created_at": comment["created_at"],
            "author_id": comment["author_id"],
            "metadata": {"system": {"client": "sandbox", "ip_address": None}, "custom": {}},
            "via": comment["via"],
            "events": events,
        }

    def _comment_time(self, ticket: dict[str, Any], number: int) -> str:
        """Comments spread evenly from the ticket's creation to its last update."""
        created, updated = _unix(ticket["created_at"]), _unix(ticket["updated_at"])
        count = self.comment_count(ticket)
        return iso(created + (max(updated, created) - created) * number // count)

    @staticmethod
    def _via(ticket: dict[str, Any], number: int) -> dict[str, Any]:
        if number == 0 and isinstance(ticket.get("via"), dict):
            return dict(ticket["via"])
        return {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}}

    # -- metric events ---------------------------------------------------------------------

    def metric_event_count(self) -> int:
        return self.records.tickets_n * len(METRIC_EVENTS)

    def metric_event(self, position: int) -> dict[str, Any]:
        """Event ``position`` of the export: ticket ``position // 4``'s event ``position % 4``."""
        index, number = divmod(position, len(METRIC_EVENTS))
        metric, kind = METRIC_EVENTS[number]
        return {
            "id": METRIC_EVENT_ID_BASE + position,
            "ticket_id": index + 1,
            "metric": metric,
            "instance_id": 1,
            "type": kind,
            "time": iso(self.records.ticket_ts(index)),
        }

    def metric_event_time(self, position: int) -> int:
        return self.records.ticket_ts(position // len(METRIC_EVENTS))
