"""Zendesk records generated lazily from (seed, index), in the shapes of Zendesk's API.

Ids map to indices arithmetically (ticket ``i`` has id ``i + 1``, user ``i`` has id
``USER_ID_BASE + i``), and whether a ticket is deleted, rated or deliberately broken is a
function of ``i`` modulo a small period, so counts and lookups never scan the data set.
Shapes follow https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/ ,
.../users/users/ , .../organizations/organizations/ , .../ticket_metrics/ and
.../satisfaction_ratings/ .
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from hub.sandbox.data import count_where, iso, person, rng_for, spread_timestamp, world

DATA_START = 1_640_995_200  # 2022-01-01T00:00:00Z
DATA_END = 1_735_689_600  # 2025-01-01T00:00:00Z: generated history ends here; writes come later
USER_ID_BASE = 1_000_000_000_000
ORG_ID_BASE = 500_000_000_000
METRIC_ID_BASE = 700_000_000_000
RATING_ID_BASE = 800_000_000_000
GROUP_IDS = (360_000_001, 360_000_002, 360_000_003)
BRAND_ID = 360_000_100
TICKET_FORM_ID = 360_000_200
FIELD_PRODUCT, FIELD_CONTRACT, FIELD_REGION = 360_001, 360_002, 360_003
WORLD_VENDOR = "zendesk"  # this sandbox's name in the shared world its users are drawn from
AGENT_EVERY, ADMIN_EVERY = 20, 100
# Periods of the arithmetic predicates; their product is the period of combined counts.
_DELETED_MOD, _RATED_MOD, _BROKEN_MOD = 33, 7, 97

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("urgent", "high", "normal", "low")
TYPES = ("problem", "incident", "question", "task")
_STATUS_WEIGHTS = (10, 26, 12, 5, 27, 20)
_CHANNELS = ("email", "web", "api", "chat", "voice", "mobile_sdk", "native_messaging", "sms")
PRODUCTS = ("router-x2", "mesh-pro", "cam-360", "hub-mini", "thermo-s")
REGIONS = ("emea", "amer", "apac")
TIERS = ("gold", "silver", "bronze")
PLANS = ("enterprise", "growth", "team")
TAGS = ("vip", "billing", "firmware", "refund", "onboarding", "sla_gold", "sla_silver", "über")
_SUBJECTS = (
    "Printer offline again",
    "My {product} keeps rebooting",
    "Facture en double pour {product}",
    "Rückerstattung für Bestellung #{n}",
    "配送が遅れています ({product})",
    "لا يمكنني تسجيل الدخول",
    "Cannot pair {product} with the app",
    "¿Cómo cambio mi plan?",
    "Заказ #{n} не пришёл",
    "Warranty question about {product}",
)
_SCORES = ("good", "bad")
_COMMENTS = ("Great support!", "Très rapide, merci", "Still not fixed.", "", "とても親切でした")


def ticket_view(ticket: dict[str, Any]) -> dict[str, Any]:
    """A ticket as the API returns it: ``fields`` repeats ``custom_fields`` (Zendesk keeps both)."""
    custom = ticket.get("custom_fields") or []
    return {**ticket, "fields": [dict(field) for field in custom]}


def is_deleted(seed: int, index: int) -> bool:
    """About 3% of tickets are soft-deleted (exported with ``status: "deleted"``)."""
    return (index * 7 + seed) % _DELETED_MOD == 0


def is_rated(seed: int, index: int) -> bool:
    """About 14% of tickets are solved/closed with a satisfaction rating."""
    return not is_deleted(seed, index) and (index * 3 + seed) % _RATED_MOD == 3


def is_broken(seed: int, index: int) -> bool:
    """About 1% of tickets break the canonical model (unknown priority or no status)."""
    return not is_deleted(seed, index) and (index * 5 + seed) % _BROKEN_MOD == 11


class ZendeskRecords:
    """Lazily generated tickets, users, organizations, metric sets and ratings."""

    def __init__(self, *, records: int, seed: int, admin_email: str, subdomain: str) -> None:
        if records < 1:
            raise ValueError(f"a Zendesk sandbox needs at least 1 ticket, got records={records}")
        self.seed = seed
        self.tickets_n = records
        self.users_n = max(2, records // 2)
        self.orgs_n = max(1, records // 20)
        self.admin_email = admin_email
        self.subdomain = subdomain
        self.built: Counter[str] = Counter()  # records generated, by kind (for tests/benchmarks)

    # -- ids and timestamps ------------------------------------------------------------------

    def ticket_ts(self, index: int) -> int:
        return spread_timestamp(
            self.seed, "ticket", index, self.tickets_n, start=DATA_START, end=DATA_END
        )

    def user_ts(self, index: int) -> int:
        return spread_timestamp(
            self.seed, "user", index, self.users_n, start=DATA_START, end=DATA_END
        )

    def org_ts(self, index: int) -> int:
        return spread_timestamp(
            self.seed, "org", index, self.orgs_n, start=DATA_START, end=DATA_END
        )

    def user_index(self, user_id: int) -> int | None:
        index = user_id - USER_ID_BASE
        return index if 0 <= index < self.users_n else None

    def ticket_index(self, ticket_id: int) -> int | None:
        return ticket_id - 1 if 1 <= ticket_id <= self.tickets_n else None

    def live_tickets_below(self, index: int) -> int:
        """How many generated tickets with index < ``index`` are not deleted."""
        return index - count_where(index, _DELETED_MOD, lambda i: is_deleted(self.seed, i))

    def rated_below(self, index: int) -> int:
        period = _DELETED_MOD * _RATED_MOD
        return count_where(index, period, lambda i: is_rated(self.seed, i))

    def user_org_id(self, index: int) -> int | None:
        """The organization of the world company the user works for (organization ``i`` is
        world company ``i``), or None when they work for none this account knows."""
        shared = world(self.seed)
        company = shared.individual(shared.truth(WORLD_VENDOR, index)).company_id
        return None if company is None or company >= self.orgs_n else ORG_ID_BASE + company

    def user_external_id(self, index: int) -> str | None:
        return f"crm-{index:07d}" if rng_for(self.seed, "user-ext", index).random() < 0.6 else None

    def index_of_external_id(self, external_id: str) -> int | None:
        """The generated user carrying ``external_id``, found without scanning."""
        prefix, _, digits = external_id.partition("-")
        if prefix != "crm" or not digits.isdigit() or len(digits) != 7:
            return None
        index = int(digits)
        if index < self.users_n and self.user_external_id(index) == external_id:
            return index
        return None

    def _agent_id(self, rng: random.Random) -> int:
        return USER_ID_BASE + AGENT_EVERY * rng.randrange((self.users_n - 1) // AGENT_EVERY + 1)

    # -- records -------------------------------------------------------------------------------

    def ticket(self, index: int) -> dict[str, Any]:
        """Generated ticket ``index`` as the incremental export shows it."""
        self.built["ticket"] += 1
        rng = rng_for(self.seed, "ticket", index)
        ts = self.ticket_ts(index)
        age = rng.randint(600, 30 * 86_400)
        created, updated = ts - age, ts - rng.randint(0, min(age, 3_600))
        status = self._status(index, rng)
        requester_index = rng.randrange(self.users_n)
        product = rng.choice(PRODUCTS)
        subject = rng.choice(_SUBJECTS).format(product=product, n=100_000 + index)
        ticket: dict[str, Any] = {
            "id": index + 1,
            "external_id": f"case-{index:08d}" if rng.random() < 0.2 else None,
            "via": self._via(rng, requester_index),
            "created_at": iso(created),
            "updated_at": iso(updated),
            "generated_timestamp": ts,
            "type": rng.choice((*TYPES, None)),
            "subject": subject,
            "raw_subject": subject,
            "description": f"{subject}\n\nTicket body #{index}. "
            + "Details follow. " * rng.randint(0, 4),
            "priority": rng.choice((*PRIORITIES, None)),
            "status": status,
            "recipient": f"support@{self.subdomain}.zendesk.com",
            "requester_id": USER_ID_BASE + requester_index,
            "submitter_id": USER_ID_BASE + requester_index,
            "assignee_id": None if status == "new" else self._agent_id(rng),
            "organization_id": self.user_org_id(requester_index),
            "group_id": None if status == "new" else rng.choice(GROUP_IDS),
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": iso(created + 7 * 86_400) if rng.random() < 0.1 else None,
            "tags": sorted(rng.sample(TAGS, rng.randint(0, 3))),
            "custom_fields": [
                {"id": FIELD_PRODUCT, "value": product},
                {
                    "id": FIELD_CONTRACT,
                    "value": f"CTR-{rng.randint(1, 9999):04d}" if rng.random() < 0.6 else None,
                },
                {"id": FIELD_REGION, "value": rng.choice(REGIONS)},
            ],
            "satisfaction_rating": self._ticket_rating(index, status, rng),
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "ticket_form_id": TICKET_FORM_ID,
            "brand_id": BRAND_ID,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }
        if is_broken(self.seed, index):
            self._break(ticket, rng)
        return ticket

    def _status(self, index: int, rng: random.Random) -> str:
        if is_deleted(self.seed, index):
            return "deleted"
        if is_rated(self.seed, index):
            return rng.choice(("solved", "closed"))
        return rng.choices(STATUSES, weights=_STATUS_WEIGHTS)[0]

    def _via(self, rng: random.Random, requester_index: int) -> dict[str, Any]:
        channel = rng.choice(_CHANNELS)
        source: dict[str, Any] = {"from": {}, "to": {}, "rel": None}
        if channel == "email":
            who = person(self.seed, requester_index, WORLD_VENDOR)
            source["from"] = {"address": who.email, "name": who.display_name}
            source["to"] = {"address": f"support@{self.subdomain}.zendesk.com", "name": "Support"}
        return {"channel": channel, "source": source}

    def _ticket_rating(self, index: int, status: str, rng: random.Random) -> dict[str, Any]:
        if is_rated(self.seed, index):
            return {"id": RATING_ID_BASE + index, "score": rng.choice(_SCORES), "comment": None}
        return {"score": "offered" if status in ("solved", "closed") else "unoffered"}

    @staticmethod
    def _break(ticket: dict[str, Any], rng: random.Random) -> None:
        """Quarantine fodder: values a canonical Case cannot hold."""
        if rng.random() < 0.5:
            ticket["priority"] = "critical"  # not a Zendesk priority
        else:
            del ticket["status"]

    def user(self, index: int) -> dict[str, Any]:
        """Generated user ``index``; index 0 is the admin whose credentials the sandbox accepts."""
        self.built["user"] += 1
        rng = rng_for(self.seed, "user", index)
        ts = self.user_ts(index)
        who = person(self.seed, index, WORLD_VENDOR)
        role = (
            "admin"
            if index % ADMIN_EVERY == 0
            else "agent"
            if index % AGENT_EVERY == 0
            else "end-user"
        )
        name, email = who.display_name, who.email
        if index == 0:
            name, email = "Sandbox Admin", self.admin_email
        elif role != "end-user":
            email = f"agent{index}@{self.subdomain}.example"
        created = ts - rng.randint(0, 365 * 86_400)
        return {
            "id": USER_ID_BASE + index,
            "name": name,
            "email": email,
            "created_at": iso(created),
            "updated_at": iso(ts),
            "time_zone": who.time_zone,
            "iana_time_zone": who.time_zone,
            "phone": who.phone,
            "shared_phone_number": None if who.phone is None else False,
            "photo": None,
            "locale_id": 1,
            "locale": who.locale,
            "organization_id": self.user_org_id(index),
            "role": role,
            "verified": rng.random() < 0.8,
            "external_id": self.user_external_id(index),
            "tags": sorted(rng.sample(TAGS, rng.randint(0, 2))),
            "alias": None,
            "active": True,
            "chat_only": False,
            "shared": False,
            "shared_agent": False,
            "last_login_at": iso(ts) if role != "end-user" else None,
            "two_factor_auth_enabled": None,
            "signature": None,
            "details": None,
            "notes": None,
            "role_type": None,
            "custom_role_id": None,
            "moderator": role != "end-user",
            "ticket_restriction": "requested" if role == "end-user" else None,
            "only_private_comments": False,
            "restricted_agent": role == "end-user",
            "suspended": rng.random() < 0.01,
            "default_group_id": GROUP_IDS[0] if role != "end-user" else None,
            "report_csv": False,
            "user_fields": {"customer_tier": rng.choice((*TIERS, None))},
        }

    def organization(self, index: int) -> dict[str, Any]:
        self.built["organization"] += 1
        rng = rng_for(self.seed, "org", index)
        ts = self.org_ts(index)
        company = world(self.seed).company(index)  # the same company other vendors see
        return {
            "id": ORG_ID_BASE + index,
            "name": company.name,
            "shared_tickets": False,
            "shared_comments": False,
            "external_id": f"acct-{index:06d}" if rng.random() < 0.7 else None,
            "created_at": iso(ts - rng.randint(0, 365 * 86_400)),
            "updated_at": iso(ts),
            "domain_names": [company.domain],
            "details": "",
            "notes": "",
            "group_id": None,
            "tags": sorted(rng.sample(TAGS, rng.randint(0, 2))),
            "organization_fields": {"plan": rng.choice(PLANS)},
            "deleted_at": None,
        }

    def metric_set(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """The ticket's metric set, derived from the ticket as it is now."""
        ticket_id = int(ticket["id"])
        rng = rng_for(self.seed, "metric", ticket_id)
        solved = ticket.get("status") in ("solved", "closed")
        reply = rng.randint(1, 2_000)
        resolution = reply + rng.randint(0, 20_000)
        return {
            "id": METRIC_ID_BASE + ticket_id,
            "ticket_id": ticket_id,
            "created_at": ticket["created_at"],
            "updated_at": ticket["updated_at"],
            "group_stations": rng.randint(1, 3),
            "assignee_stations": rng.randint(0, 3),
            "reopens": rng.choice((0, 0, 0, 1, 2)),
            "replies": rng.randint(0, 8),
            "assignee_updated_at": ticket["updated_at"],
            "requester_updated_at": ticket["created_at"],
            "status_updated_at": ticket["updated_at"],
            "initially_assigned_at": ticket["created_at"] if ticket.get("assignee_id") else None,
            "assigned_at": ticket["created_at"] if ticket.get("assignee_id") else None,
            "solved_at": ticket["updated_at"] if solved else None,
            "latest_comment_added_at": ticket["updated_at"],
            "custom_status_updated_at": ticket["updated_at"],
            "reply_time_in_minutes": {"calendar": reply, "business": reply // 3},
            "reply_time_in_seconds": {"calendar": reply * 60},
            "first_resolution_time_in_minutes": _minutes(resolution if solved else None),
            "full_resolution_time_in_minutes": _minutes(resolution if solved else None),
            "agent_wait_time_in_minutes": _minutes(rng.randint(0, 500)),
            "requester_wait_time_in_minutes": _minutes(rng.randint(0, 5_000)),
            "on_hold_time_in_minutes": _minutes(rng.randint(0, 200) if rng.random() < 0.2 else 0),
        }

    def rating(self, index: int) -> dict[str, Any]:
        """The rating of rated ticket ``index``, created when the ticket last changed."""
        self.built["rating"] += 1
        ticket = self.ticket(index)
        rng = rng_for(self.seed, "rating", index)
        score = (ticket.get("satisfaction_rating") or {}).get("score", "good")
        return {
            "id": RATING_ID_BASE + index,
            "assignee_id": ticket.get("assignee_id"),
            "group_id": ticket.get("group_id"),
            "requester_id": ticket["requester_id"],
            "ticket_id": ticket["id"],
            "score": score,
            "comment": rng.choice(_COMMENTS) or None,
            "reason": "Issue took too long to resolve"
            if score == "bad" and rng.random() < 0.5
            else None,
            "created_at": iso(self.ticket_ts(index)),
            "updated_at": iso(self.ticket_ts(index)),
        }


def _minutes(value: int | None) -> dict[str, int | None]:
    return {"calendar": value, "business": None if value is None else value // 3}
