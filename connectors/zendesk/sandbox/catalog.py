"""The Zendesk account's configuration as small fixed tables derived from the seed.

Groups, ticket/user/organization fields, ticket forms, macros, SLA policies and tags are a
handful of rows in a real account, so they are built once per sandbox; group memberships grow
with the agents and are computed from their position, like the generated tickets. The fields
describe the values the generated records carry (``custom_fields``, ``user_fields``,
``organization_fields``). Shapes follow the API reference pages under
https://developer.zendesk.com/api-reference/ticketing/ (tickets/ticket_fields, tickets/ticket_forms,
users/user_fields, organizations/organization_fields, groups/groups, groups/group_memberships,
business-rules/macros, business-rules/sla_policies, ticket-management/tags).
"""

from __future__ import annotations

from typing import Any

from connectors.zendesk.sandbox.records import (
    AGENT_EVERY,
    DATA_END,
    DATA_START,
    FIELD_CONTRACT,
    FIELD_PRODUCT,
    FIELD_REGION,
    GROUP_IDS,
    PLANS,
    PRIORITIES,
    PRODUCTS,
    REGIONS,
    STATUSES,
    TAGS,
    TICKET_FORM_ID,
    TIERS,
    TYPES,
    USER_ID_BASE,
    ZendeskRecords,
)
from hub.sandbox.data import iso, rng_for

MEMBERSHIP_ID_BASE = 900_000_000_000
SYSTEM_FIELD_BASE = 360_010_000
OPTION_ID_BASE = 360_020_000
USER_FIELD_ID, ORG_FIELD_ID = 360_030_001, 360_030_101
MACRO_ID_BASE, SLA_ID_BASE = 360_040_000, 360_050_000
SECOND_FORM_ID = TICKET_FORM_ID + 1
MEMBERSHIPS_PER_AGENT = 2  # every agent is in the first group, and in one of the others

_GROUPS = ("Support", "Billing", "Escalations")
# (type, title) of the system ticket fields every account has, in Zendesk's order.
_SYSTEM_FIELDS = (
    ("subject", "Subject"),
    ("description", "Description"),
    ("status", "Status"),
    ("tickettype", "Type"),
    ("priority", "Priority"),
    ("group", "Group"),
    ("assignee", "Assignee"),
)
_MACROS: tuple[tuple[str, list[tuple[str, Any]]], ...] = (
    ("Close and redirect to topics", [("status", "solved"), ("comment_value", "See our FAQ.")]),
    ("Escalate to tier 2", [("group_id", GROUP_IDS[2]), ("priority", "high")]),
    ("Refund approved", [("status", "pending"), ("set_tags", "refund")]),
    ("Ask for firmware version", [("status", "pending"), ("comment_value", "Which firmware?")]),
)
# (title, tag, first reply target in minutes, resolution target in minutes)
_SLAS = (("Gold customers", "sla_gold", 60, 480), ("Silver customers", "sla_silver", 240, 1440))


def _stamps(seed: int, kind: str, number: int) -> tuple[str, str]:
    """``created_at`` and ``updated_at`` of a configuration row, inside the generated history."""
    rng = rng_for(seed, kind, number)
    created = DATA_START + rng.randrange(86_400 * 30)
    return iso(created), iso(rng.randrange(created, DATA_END))


def _options(prefix: int, values: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"id": prefix + n, "name": v.title(), "raw_name": v.title(), "value": v, "default": False}
        for n, v in enumerate(values)
    ]


class Catalog:
    """The configuration tables of one sandbox account (fixed for a seed)."""

    def __init__(self, records: ZendeskRecords) -> None:
        self.records = records
        seed = records.seed
        self.groups = [self._group(n, name) for n, name in enumerate(_GROUPS)]
        self.ticket_fields = [
            *(self._system_field(n, kind, title) for n, (kind, title) in enumerate(_SYSTEM_FIELDS)),
            *self._custom_ticket_fields(),
        ]
        self.ticket_forms = [
            self._form(
                TICKET_FORM_ID, "Default Ticket Form", [f["id"] for f in self.ticket_fields]
            ),
            self._form(
                SECOND_FORM_ID, "Billing request", [f["id"] for f in self.ticket_fields[:5]]
            ),
        ]
        self.user_fields = [
            self._account_field(USER_FIELD_ID, "customer_tier", "Customer tier", TIERS, "user")
        ]
        self.organization_fields = [
            self._account_field(ORG_FIELD_ID, "plan", "Plan", PLANS, "organization")
        ]
        self.macros = [self._macro(n, title, acts) for n, (title, acts) in enumerate(_MACROS)]
        self.sla_policies = [self._sla(n, *row) for n, row in enumerate(_SLAS)]
        # Zendesk counts a tag's recent uses; here a share of the tickets drawn from the seed.
        shares = [rng_for(seed, "tag", n).randint(8, 30) for n in range(len(TAGS))]
        self.tags = [
            {"name": tag, "count": max(1, records.tickets_n * share // 100)}
            for tag, share in zip(TAGS, shares, strict=True)
        ]

    # -- group memberships: two per agent, computed from their position ----------------------

    def membership_count(self) -> int:
        agents = (self.records.users_n - 1) // AGENT_EVERY + 1
        return agents * MEMBERSHIPS_PER_AGENT

    def membership_position(self, membership_id: int) -> int | None:
        position = membership_id - MEMBERSHIP_ID_BASE
        return position if 0 <= position < self.membership_count() else None

    def membership(self, position: int) -> dict[str, Any]:
        agent, slot = divmod(position, MEMBERSHIPS_PER_AGENT)
        group_id = GROUP_IDS[0] if slot == 0 else GROUP_IDS[1 + agent % (len(GROUP_IDS) - 1)]
        created, updated = _stamps(self.records.seed, "membership", position)
        return {
            "id": MEMBERSHIP_ID_BASE + position,
            "user_id": USER_ID_BASE + agent * AGENT_EVERY,
            "group_id": group_id,
            "default": slot == 0,
            "created_at": created,
            "updated_at": updated,
        }

    # -- rows ---------------------------------------------------------------------------------

    def _group(self, number: int, name: str) -> dict[str, Any]:
        created, updated = _stamps(self.records.seed, "group", number)
        return {
            "id": GROUP_IDS[number],
            "name": name,
            "description": f"{name} team",
            "default": number == 0,
            "deleted": False,
            "is_public": True,
            "created_at": created,
            "updated_at": updated,
        }

    def _field(self, field_id: int, kind: str, title: str, number: int) -> dict[str, Any]:
        created, updated = _stamps(self.records.seed, "ticket-field", number)
        return {
            "id": field_id,
            "type": kind,
            "title": title,
            "raw_title": title,
            "description": "",
            "raw_description": "",
            "position": number,
            "active": True,
            "required": kind in ("subject", "description"),
            "collapsed_for_agents": False,
            "regexp_for_validation": None,
            "title_in_portal": title,
            "raw_title_in_portal": title,
            "visible_in_portal": kind in ("subject", "description"),
            "editable_in_portal": kind in ("subject", "description"),
            "required_in_portal": kind in ("subject", "description"),
            "agent_description": None,
            "tag": None,
            "created_at": created,
            "updated_at": updated,
            "removable": kind not in {k for k, _ in _SYSTEM_FIELDS},
            "key": None,
            "sub_type_id": 0,
        }

    def _system_field(self, number: int, kind: str, title: str) -> dict[str, Any]:
        field = self._field(SYSTEM_FIELD_BASE + number, kind, title, number)
        values = {"status": STATUSES, "priority": PRIORITIES, "tickettype": TYPES}.get(kind)
        if values is not None:
            field["system_field_options"] = [{"name": v.title(), "value": v} for v in values]
        return field

    def _custom_ticket_fields(self) -> list[dict[str, Any]]:
        first = len(_SYSTEM_FIELDS)
        product = self._field(FIELD_PRODUCT, "tagger", "Product", first)
        product["custom_field_options"] = _options(OPTION_ID_BASE, PRODUCTS)
        contract = self._field(FIELD_CONTRACT, "text", "Contract number", first + 1)
        contract["regexp_for_validation"] = r"^CTR-\d{4}$"
        region = self._field(FIELD_REGION, "tagger", "Region", first + 2)
        region["custom_field_options"] = _options(OPTION_ID_BASE + 100, REGIONS)
        return [product, contract, region]

    def _form(self, form_id: int, name: str, field_ids: list[int]) -> dict[str, Any]:
        created, updated = _stamps(self.records.seed, "form", form_id)
        return {
            "id": form_id,
            "name": name,
            "raw_name": name,
            "display_name": name,
            "raw_display_name": name,
            "end_user_visible": True,
            "position": form_id - TICKET_FORM_ID,
            "ticket_field_ids": field_ids,
            "active": True,
            "default": form_id == TICKET_FORM_ID,
            "in_all_brands": True,
            "restricted_brand_ids": [],
            "end_user_conditions": [],
            "agent_conditions": [],
            "created_at": created,
            "updated_at": updated,
        }

    def _account_field(
        self, field_id: int, key: str, title: str, values: tuple[str, ...], owner: str
    ) -> dict[str, Any]:
        """A user or organization field: a dropdown whose values the generated records use."""
        created, updated = _stamps(self.records.seed, f"{owner}-field", field_id)
        return {
            "id": field_id,
            "key": key,
            "type": "dropdown",
            "title": title,
            "raw_title": title,
            "description": "",
            "raw_description": "",
            "position": 0,
            "active": True,
            "system": False,
            "regexp_for_validation": None,
            "tag": None,
            "custom_field_options": _options(field_id * 10, values),
            "created_at": created,
            "updated_at": updated,
        }

    def _macro(self, number: int, title: str, actions: list[tuple[str, Any]]) -> dict[str, Any]:
        created, updated = _stamps(self.records.seed, "macro", number)
        return {
            "id": MACRO_ID_BASE + number,
            "title": title,
            "raw_title": title,
            "description": None,
            "active": True,
            "default": False,
            "position": number + 1,
            "actions": [{"field": field, "value": value} for field, value in actions],
            "restriction": None,
            "created_at": created,
            "updated_at": updated,
        }

    def _sla(self, number: int, title: str, tag: str, reply: int, resolve: int) -> dict[str, Any]:
        created, updated = _stamps(self.records.seed, "sla", number)
        metrics = [
            {"priority": priority, "metric": metric, "target": target, "business_hours": False}
            for priority in PRIORITIES
            for metric, target in (("first_reply_time", reply), ("requester_wait_time", resolve))
        ]
        return {
            "id": SLA_ID_BASE + number,
            "title": title,
            "description": f"Targets for tickets tagged {tag}",
            "position": number + 1,
            "filter": {"all": [{"field": "current_tags", "operator": "includes", "value": tag}],
                       "any": []},
            "policy_metrics": metrics,
            "created_at": created,
            "updated_at": updated,
        }  # fmt: skip
