"""Canonical models: the one shape every vendor record is mapped into.

Personal fields are annotated with :class:`Pii`; the sealing step (``hub.vault``) reads the
marker, encrypts those fields and, where ``index`` is set, writes a blind index for lookups.
``Pii`` is honoured on top-level fields of a model; a field that holds a list or a nested
model is sealed as a whole.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

BlindIndexKind = Literal["email", "phone"]


@dataclass(frozen=True)
class Pii:
    """Marks a field as personal data. ``index`` names the blind index it feeds, if any."""

    index: BlindIndexKind | None = None


class Provenance(BaseModel):
    """Where a canonical record came from."""

    model_config = ConfigDict(frozen=True)

    system: str  # connector name, e.g. "acme"
    connection: str  # connection name, e.g. "zd"
    object_type: str  # vendor object type, e.g. "user", "ticket"
    external_id: str
    source_updated_at: datetime | None = None


class CaseStatus(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


class CasePriority(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEB = "web"
    PHONE = "phone"
    CHAT = "chat"
    SMS = "sms"
    MESSAGING = "messaging"
    SOCIAL = "social"
    API = "api"
    OTHER = "other"
    WHATSAPP = "whatsapp"


class InteractionKind(enum.StrEnum):
    CALL = "call"
    MESSAGE = "message"
    CHAT = "chat"
    EMAIL = "email"
    SURVEY = "survey"
    NOTE = "note"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Address(BaseModel):
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class CanonicalRecord(BaseModel):
    """Base of every canonical model.

    ``raw`` is the vendor's record as received; it is sealed as a whole before storage.
    References to other records of the same connection are strings ``"<object_type>/<id>"``.
    """

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    kind: ClassVar[str]
    provenance: Provenance
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @classmethod
    def pii_fields(cls) -> dict[str, Pii]:
        """The personal fields of this model and their markers."""
        found: dict[str, Pii] = {}
        for name, info in cls.model_fields.items():
            for meta in info.metadata:
                if isinstance(meta, Pii):
                    found[name] = meta
        return found

    @classmethod
    def field_names(cls) -> set[str]:
        """Fields a mapping may fill (everything but provenance and raw)."""
        return set(cls.model_fields) - {"provenance", "raw"}


class Customer(CanonicalRecord):
    """A person the company serves (end user, contact, caller, sender)."""

    kind: ClassVar[str] = "customer"
    display_name: Annotated[str | None, Pii()] = None
    given_name: Annotated[str | None, Pii()] = None
    family_name: Annotated[str | None, Pii()] = None
    emails: Annotated[list[str], Pii(index="email")] = Field(default_factory=list)
    phones: Annotated[list[str], Pii(index="phone")] = Field(default_factory=list)
    addresses: Annotated[list[Address], Pii()] = Field(default_factory=list)
    organization_ref: str | None = None
    locale: str | None = None
    time_zone: str | None = None
    tags: list[str] = Field(default_factory=list)
    active: bool = True
    created_at: datetime | None = None


class Organization(CanonicalRecord):
    kind: ClassVar[str] = "organization"
    name: str
    domains: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    created_at: datetime | None = None


class Product(CanonicalRecord):
    kind: ClassVar[str] = "product"
    name: str
    code: str | None = None
    family: str | None = None
    active: bool = True


class Entitlement(CanonicalRecord):
    kind: ClassVar[str] = "entitlement"
    name: str
    customer_ref: str | None = None
    organization_ref: str | None = None
    product_ref: str | None = None
    contract_ref: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    status: str | None = None
    ownership_ref: str | None = None  # the owned unit it covers (a product_ownership)


class ProductOwnership(CanonicalRecord):
    """One unit of a product a customer or organization owns (a Salesforce Asset): what
    entitlements cover and cases are about. A record of its own, not a field of Product or
    Customer, because one product has many owners and each unit has its own serial number,
    dates and status."""

    kind: ClassVar[str] = "product_ownership"
    name: str | None = None
    product_ref: str | None = None
    customer_ref: str | None = None
    organization_ref: str | None = None
    serial_number: str | None = None
    status: str | None = None
    purchased_on: date | None = None
    installed_on: date | None = None
    ends_on: date | None = None


class Contract(CanonicalRecord):
    kind: ClassVar[str] = "contract"
    name: str
    customer_ref: str | None = None
    organization_ref: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    status: str | None = None


class Case(CanonicalRecord):
    kind: ClassVar[str] = "case"
    subject: Annotated[str | None, Pii()] = None
    description: Annotated[str | None, Pii()] = None
    status: CaseStatus
    priority: CasePriority | None = None
    channel: Channel | None = None
    customer_ref: str | None = None
    organization_ref: str | None = None
    assignee_ref: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    due_at: datetime | None = None


class CaseMetrics(CanonicalRecord):
    """Service-level measurements of one case (first reply, resolution)."""

    kind: ClassVar[str] = "case_metrics"
    case_ref: str
    first_reply_minutes: int | None = None
    first_resolution_minutes: int | None = None
    full_resolution_minutes: int | None = None
    reopens: int | None = None
    replies: int | None = None
    solved_at: datetime | None = None


class Interaction(CanonicalRecord):
    """A contact between customer and company: call, message, chat, email or survey answer."""

    kind: ClassVar[str] = "interaction"
    interaction_kind: InteractionKind
    direction: Direction | None = None
    channel: Channel | None = None
    customer_ref: str | None = None
    case_ref: str | None = None
    agent_ref: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    score: str | None = None
    body: Annotated[str | None, Pii()] = None
    # The vendor's own status word (queued, delivered, completed, ...): it keeps changing
    # after the interaction is created.
    status: str | None = None
    price: Decimal | None = None  # what the vendor charged; negative is a cost, as Twilio writes
    price_unit: str | None = None  # ISO 4217 currency of ``price``
    queue_ref: str | None = None
    wrap_up_ref: str | None = None
    talk_seconds: int | None = None
    hold_seconds: int | None = None
    after_call_work_seconds: int | None = None
    conversation_ref: str | None = None
    # The customer's addresses as the contact centre saw them (ANI, email sender), for linking.
    customer_emails: Annotated[list[str], Pii(index="email")] = Field(default_factory=list)
    customer_phones: Annotated[list[str], Pii(index="phone")] = Field(default_factory=list)


class Agent(CanonicalRecord):
    kind: ClassVar[str] = "agent"
    display_name: Annotated[str | None, Pii()] = None
    emails: Annotated[list[str], Pii(index="email")] = Field(default_factory=list)
    role: str | None = None
    active: bool = True


class Queue(CanonicalRecord):
    """Where interactions wait for an agent (a contact-centre routing queue)."""

    kind: ClassVar[str] = "queue"
    name: str
    description: str | None = None
    active: bool = True


class WrapUpCode(CanonicalRecord):
    """How an agent said an interaction ended (a disposition)."""

    kind: ClassVar[str] = "wrap_up_code"
    name: str


MODELS: dict[str, type[CanonicalRecord]] = {
    m.kind: m
    for m in (
        Customer,
        Organization,
        Product,
        ProductOwnership,
        Entitlement,
        Contract,
        Case,
        CaseMetrics,
        Interaction,
        Agent,
        Queue,
        WrapUpCode,
    )
}


def model_for(kind: str) -> type[CanonicalRecord]:
    """The canonical model class for a kind name such as ``"customer"``."""
    try:
        return MODELS[kind]
    except KeyError:
        raise KeyError(
            f"unknown canonical model {kind!r}; known: {', '.join(sorted(MODELS))}"
        ) from None
