"""What the Zendesk sandbox holds at runtime: one generated-plus-overlay collection per kind.

Generated records are never stored; only records changed at runtime (API writes and
``/_sandbox/mutate``) live in memory, and each change is appended to the export timeline with
a fresh change time so the next incremental export returns it (see
:class:`hub.sandbox.collection.GeneratedCollection`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from connectors.zendesk.sandbox.records import (
    METRIC_ID_BASE,
    ORG_ID_BASE,
    PRIORITIES,
    TYPES,
    USER_ID_BASE,
    ZendeskRecords,
    is_deleted,
)
from hub.sandbox.collection import GeneratedCollection
from hub.sandbox.data import iso, rng_for
from hub.sandbox.timeline import Entry, Timeline

# Scanning generated users for an email is O(users); above this size only users changed at
# runtime and external ids are matched (documented limitation of the emulator).
EMAIL_INDEX_MAX_USERS = 200_000
CREATE_STATUSES = ("new", "open", "pending", "hold", "solved")
UPDATE_STATUSES = (*CREATE_STATUSES, "closed")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NEXT_STATUS = {
    "new": "open",
    "open": "pending",
    "pending": "solved",
    "hold": "open",
    "solved": "closed",
}
MUTATION_TAG = "sandbox_mutated"

Details = dict[str, list[dict[str, str]]]


def detail(field: str, description: str, error: str) -> Details:
    """One entry of a Zendesk ``RecordInvalid`` body's ``details``."""
    return {field: [{"description": description, "error": error}]}


def _stamp_ticket(ticket: dict[str, Any], ts: int) -> dict[str, Any]:
    ticket["updated_at"] = iso(ts)
    ticket["generated_timestamp"] = ts
    return ticket


def _stamp_user(user: dict[str, Any], ts: int) -> dict[str, Any]:
    user["updated_at"] = iso(ts)
    return user


class ZendeskState:
    """Current tickets, users and organizations: generated unless changed at runtime."""

    def __init__(self, records: ZendeskRecords, *, clock: Callable[[], float] = time.time) -> None:
        self.records = records
        self.clock = clock
        self.ticket_records = GeneratedCollection(
            count=records.tickets_n,
            generate=records.ticket,
            id_of=lambda i: i + 1,
            index_of=records.ticket_index,
            ts_of=records.ticket_ts,
            next_id=records.tickets_n + 1,
            clock=clock,
            stamp=_stamp_ticket,
        )
        self.user_records = GeneratedCollection(
            count=records.users_n,
            generate=records.user,
            id_of=lambda i: USER_ID_BASE + i,
            index_of=records.user_index,
            ts_of=records.user_ts,
            next_id=USER_ID_BASE + records.users_n,
            clock=clock,
            stamp=_stamp_user,
        )
        self.org_records = GeneratedCollection(
            count=records.orgs_n,
            generate=records.organization,
            id_of=lambda i: ORG_ID_BASE + i,
            index_of=lambda org_id: _index_below(org_id - ORG_ID_BASE, records.orgs_n),
            ts_of=records.org_ts,
            next_id=ORG_ID_BASE + records.orgs_n,
            clock=clock,
        )
        self.mutations = 0
        self._email_index: dict[str, int] | None = None

    # -- the export timelines and the runtime overlay ----------------------------------------

    @property
    def tickets(self) -> Timeline:
        return self.ticket_records.timeline

    @property
    def users(self) -> Timeline:
        return self.user_records.timeline

    @property
    def orgs(self) -> Timeline:
        return self.org_records.timeline

    @property
    def ticket_changes(self) -> Mapping[int, dict[str, Any]]:
        return self.ticket_records.overlay

    @property
    def user_changes(self) -> Mapping[int, dict[str, Any]]:
        return self.user_records.overlay

    @property
    def next_ticket_id(self) -> int:
        return self.ticket_records.next_id

    @property
    def next_user_id(self) -> int:
        return self.user_records.next_id

    # -- reads ------------------------------------------------------------------------------

    def ticket(self, ticket_id: int) -> dict[str, Any] | None:
        return self.ticket_records.get(ticket_id)

    def ticket_at(self, entry: Entry) -> dict[str, Any]:
        return self.ticket_records.at(entry)

    def ticket_is_deleted(self, entry: Entry) -> bool:
        if self.ticket_records.changed(entry.record_id):
            return self.ticket_changes[entry.record_id].get("status") == "deleted"
        return entry.index is not None and is_deleted(self.records.seed, entry.index)

    def user(self, user_id: int) -> dict[str, Any] | None:
        return self.user_records.get(user_id)

    def user_at(self, entry: Entry) -> dict[str, Any]:
        return self.user_records.at(entry)

    def organization_at(self, entry: Entry) -> dict[str, Any]:
        return self.org_records.at(entry)

    def find_user(self, *, email: str | None, external_id: str | None) -> dict[str, Any] | None:
        """The user matching ``external_id``, else ``email`` (case-insensitive), else None."""
        if external_id:
            for user in self.user_changes.values():
                if user.get("external_id") == external_id:
                    return user
            index = self.records.index_of_external_id(external_id)
            if index is not None and USER_ID_BASE + index not in self.user_changes:
                return self.records.user(index)
        if email:
            wanted = email.casefold()
            for user in self.user_changes.values():
                if (user.get("email") or "").casefold() == wanted:
                    return user
            found = self._generated_email_index().get(wanted)
            if found is not None and found not in self.user_changes:
                return self.user(found)
        return None

    def _generated_email_index(self) -> dict[str, int]:
        if self._email_index is None:
            self._email_index = {}
            if self.records.users_n <= EMAIL_INDEX_MAX_USERS:
                for index in range(self.records.users_n):
                    email = self.records.user(index).get("email")
                    if email:
                        self._email_index.setdefault(email.casefold(), USER_ID_BASE + index)
        return self._email_index

    # -- writes -----------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def save_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Store a changed or new ticket and put it at the end of the export timeline."""
        return self.ticket_records.save(ticket)

    def save_user(self, user: dict[str, Any]) -> dict[str, Any]:
        return self.user_records.save(user)

    def new_ticket(self, fields: dict[str, Any], *, requester_id: int) -> dict[str, Any]:
        ticket_id = self.ticket_records.allocate_id()
        now = iso(self._now())
        requester = self.user(requester_id) or {}
        subject = fields.get("subject") or ""
        ticket: dict[str, Any] = {
            "id": ticket_id,
            "external_id": fields.get("external_id"),
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": now,
            "updated_at": now,
            "generated_timestamp": 0,
            "type": fields.get("type"),
            "subject": subject,
            "raw_subject": subject,
            "description": fields["description"],
            "priority": fields.get("priority"),
            "status": fields.get("status") or ("open" if fields.get("assignee_id") else "new"),
            "recipient": None,
            "requester_id": requester_id,
            "submitter_id": requester_id,
            "assignee_id": fields.get("assignee_id"),
            "organization_id": requester.get("organization_id"),
            "group_id": None,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": fields.get("due_at"),
            "tags": sorted(set(fields.get("tags") or [])),
            "custom_fields": fields.get("custom_fields") or [],
            "satisfaction_rating": {"score": "unoffered"},
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "ticket_form_id": None,
            "brand_id": None,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }
        return self.save_ticket(ticket)

    def new_user(self, fields: dict[str, Any]) -> dict[str, Any]:
        user_id = self.user_records.allocate_id()
        now = iso(self._now())
        user: dict[str, Any] = {
            "id": user_id,
            "name": fields.get("name"),
            "email": fields.get("email"),
            "created_at": now,
            "updated_at": now,
            "time_zone": fields.get("time_zone", "UTC"),
            "iana_time_zone": fields.get("time_zone", "UTC"),
            "phone": fields.get("phone"),
            "locale": fields.get("locale", "en-US"),
            "organization_id": fields.get("organization_id"),
            "role": "end-user",
            "verified": False,
            "external_id": fields.get("external_id"),
            "tags": sorted(set(fields.get("tags") or [])),
            "active": True,
            "suspended": False,
            "user_fields": fields.get("user_fields") or {},
        }
        return self.save_user(user)

    def mutate(self, count: int) -> list[str]:
        """Change ``count`` records, alternating tickets and users; which ones and how depends
        only on the seed and the mutation number. A changed ticket's metric set is derived
        from it and changes too, so both are reported."""
        changed: list[str] = []
        for _ in range(count):
            number = self.mutations
            self.mutations += 1
            if number % 2 == 0:
                ticket_id = self._mutate_ticket(number)
                changed += [f"ticket/{ticket_id}", f"ticket_metric/{METRIC_ID_BASE + ticket_id}"]
            else:
                changed.append(f"user/{self._mutate_user(number)}")
        return changed

    def _mutate_ticket(self, number: int) -> int:
        rng = rng_for(self.records.seed, "mutation", number)
        start = rng.randrange(self.records.tickets_n)
        for step in range(self.records.tickets_n):
            ticket_id = (start + step) % self.records.tickets_n + 1
            ticket = self.ticket(ticket_id)
            if ticket is not None and ticket.get("status") not in ("deleted", "closed"):
                break
        else:  # every ticket is closed or deleted: touch the first one's tags only
            ticket_id, ticket = 1, self.ticket(1)
        assert ticket is not None
        changed = dict(ticket)
        status = changed.get("status")
        if status in _NEXT_STATUS:
            changed["status"] = _NEXT_STATUS[status]
        elif status is None:
            changed["status"] = "open"
        changed["tags"] = sorted({*changed.get("tags", []), MUTATION_TAG})
        self.save_ticket(changed)
        return ticket_id

    def _mutate_user(self, number: int) -> int:
        rng = rng_for(self.records.seed, "mutation", number)
        user_id = USER_ID_BASE + rng.randrange(self.records.users_n)
        user = self.user(user_id)
        assert user is not None
        changed = dict(user)
        changed["tags"] = sorted({*changed.get("tags", []), MUTATION_TAG})
        changed["verified"] = not changed.get("verified", False)
        self.save_user(changed)
        return user_id


def _index_below(index: int, count: int) -> int | None:
    return index if 0 <= index < count else None


def valid_email(value: object) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value))


def ticket_field_errors(fields: dict[str, Any], *, creating: bool) -> Details:
    """Zendesk-style validation details for ticket fields (empty when valid)."""
    errors: Details = {}
    statuses = CREATE_STATUSES if creating else UPDATE_STATUSES
    if fields.get("status") is not None and fields["status"] not in statuses:
        errors |= detail("status", "Status: is not valid", "InvalidValue")
    if fields.get("priority") is not None and fields["priority"] not in PRIORITIES:
        errors |= detail("priority", "Priority: is not valid", "InvalidValue")
    if fields.get("type") is not None and fields["type"] not in TYPES:
        errors |= detail("type", "Type: is not valid", "InvalidValue")
    tags = fields.get("tags")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
    ):
        errors |= detail("tags", "Tags: must be a list of strings", "InvalidValue")
    if creating and not fields.get("description"):
        errors |= detail("description", "Description: cannot be blank", "BlankValue")
    return errors
