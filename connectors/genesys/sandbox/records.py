"""The Genesys Cloud sandbox's data, generated lazily from the seed: agents (users), routing
queues, wrap-up codes, external contacts drawn from the shared world, and analytics
conversations whose customers are those contacts (their phones and emails as ANI/DNIS and
message addresses).

Record shapes follow the Platform API models (``User``, ``Queue``, ``WrapupCode``,
``ExternalContact``, ``AnalyticsConversation``; vendor-apis.md 4.5). Conversations are spread
over the 30 days before ``anchor`` in index order, so an interval is a bisection.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from random import Random
from typing import Any

from hub.sandbox.data import person, rng_for, spread_timestamp
from hub.vault.blind_index import normalise_phone

Record = dict[str, Any]
DAY = 86_400
SPAN_SECONDS = 30 * DAY  # conversations fall in the 30 days before the anchor
HISTORY_END = 1_735_689_600  # 2025-01-01T00:00:00Z: where the sandbox's server clock starts
COMPANY_DOMAIN = "sandbox-cc.example"
SUPPORT_ADDRESS = f"support@{COMPANY_DOMAIN}"
COMPANY_NUMBER = "+18005550100"
QUEUE_NAMES = ("Support", "Billing", "Sales", "Technical Support", "Retention")
WRAP_UP_NAMES = ("Resolved", "Follow-up needed", "Escalated", "Callback scheduled", "Wrong number")
# mediaType and its share of conversations; messageType for messages.
MEDIA = (("voice", 45), ("callback", 10), ("chat", 15), ("message", 15), ("email", 15))


def stable_id(seed: int, kind: str, index: int) -> str:
    """A UUID computed from the seed, the kind of record and its index."""
    digest = hashlib.blake2b(f"{seed}/{kind}/{index}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def genesys_time(seconds: float) -> str:
    """``2026-01-01T10:00:00.000Z``: the Platform API's timestamps, to the millisecond."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _e164(phone: str | None) -> str | None:
    if not phone:
        return None
    try:
        return normalise_phone(phone, "US")
    except ValueError:
        return None


@dataclass(frozen=True)
class Sizes:
    """How many records of each kind a sandbox of ``records`` holds."""

    conversations: int
    contacts: int
    users: int

    @classmethod
    def of(cls, records: int) -> Sizes:
        return cls(
            conversations=records, contacts=max(records // 2, 5), users=max(records // 10, 4)
        )


class GenesysRecords:
    """Every record of one sandbox, computed on demand; late changes are kept in overlays."""

    def __init__(self, *, records: int, seed: int, anchor: int) -> None:
        self.seed = seed
        self.anchor = anchor
        self.sizes = Sizes.of(records)
        self.queues = [self._queue(i) for i in range(len(QUEUE_NAMES))]
        self.wrap_up_codes = [self._wrap_up_code(i) for i in range(len(WRAP_UP_NAMES))]
        self.changed: dict[int, Record] = {}  # conversation index -> conversation after a change
        self.starts = [self._start(i) for i in range(self.sizes.conversations)]

    # -- directory --------------------------------------------------------------------------

    def user(self, index: int) -> Record:
        who = person(self.seed, index, "genesys-staff")
        user_id = stable_id(self.seed, "user", index)
        email = f"{who.given_name}.{who.family_name}.{index}@{COMPANY_DOMAIN}".lower()
        return {
            "id": user_id,
            "name": who.display_name,
            "division": {"id": stable_id(self.seed, "division", 0), "name": "Home"},
            "email": email,
            "username": email,
            "state": "inactive" if index % 11 == 10 else "active",
            "title": "Agent" if index % 5 else "Supervisor",
            "department": "Contact Centre",
            "version": 1,
            "selfUri": f"/api/v2/users/{user_id}",
        }

    def _queue(self, index: int) -> Record:
        queue_id = stable_id(self.seed, "queue", index)
        return {
            "id": queue_id,
            "name": QUEUE_NAMES[index],
            "description": f"{QUEUE_NAMES[index]} line",
            "division": {"id": stable_id(self.seed, "division", 0), "name": "Home"},
            "dateCreated": genesys_time(self.anchor - 400 * DAY),
            "memberCount": self.sizes.users,
            "selfUri": f"/api/v2/routing/queues/{queue_id}",
        }

    def _wrap_up_code(self, index: int) -> Record:
        code_id = stable_id(self.seed, "wrapupcode", index)
        return {
            "id": code_id,
            "name": WRAP_UP_NAMES[index],
            "dateCreated": genesys_time(self.anchor - 400 * DAY),
            "createdBy": "sandbox",
            "selfUri": f"/api/v2/routing/wrapupcodes/{code_id}",
        }

    def contact(self, index: int) -> Record:
        """External contact ``index``: person ``index`` of the world as Genesys holds them."""
        who = person(self.seed, index, "genesys")
        contact_id = stable_id(self.seed, "contact", index)
        created = self.anchor - SPAN_SECONDS - (index % 200) * DAY
        record: Record = {
            "id": contact_id,
            "firstName": who.given_name,
            "lastName": who.family_name,
            "type": "Curated",
            "createDate": genesys_time(created),
            "modifyDate": genesys_time(created + DAY),
            "selfUri": f"/api/v2/externalcontacts/contacts/{contact_id}",
        }
        if who.email:
            record["personalEmail"] = who.email
        if who.other_email:
            record["otherEmail"] = who.other_email
        if who.phone:
            phone: Record = {"display": who.phone}
            e164 = _e164(who.phone)
            if e164:
                phone["e164"] = e164
            record["cellPhone"] = phone
        return record

    # -- conversations ----------------------------------------------------------------------

    def _start(self, index: int) -> int:
        count = self.sizes.conversations
        begin = self.anchor - SPAN_SECONDS
        return spread_timestamp(self.seed, "conversation", index, count, start=begin,
                                end=self.anchor - 3600)  # fmt: skip

    def started_between(self, start: float, end: float) -> range:
        """Indices of the conversations that started in ``[start, end)``, oldest first."""
        return range(bisect.bisect_left(self.starts, start), bisect.bisect_left(self.starts, end))

    def active_between(self, start: float, end: float) -> list[int]:
        """Indices of conversations with activity in ``[start, end)``: started before ``end``
        and ended at or after ``start`` (the async jobs' interval rule)."""
        last = bisect.bisect_left(self.starts, end)
        # Conversations last hours at most, so only those starting a day early can reach in.
        first = bisect.bisect_left(self.starts, start - DAY)
        return [i for i in range(first, last) if self._ends_at_or_after(i, start)]

    def _ends_at_or_after(self, index: int, start: float) -> bool:
        ended = self.conversation(index)["conversationEnd"]
        return datetime.fromisoformat(ended).timestamp() >= start

    def conversation(self, index: int) -> Record:
        changed = self.changed.get(index)
        return changed if changed is not None else ConversationBuilder(self, index).build()

    def change_late(self, index: int) -> Record | None:
        """A change after the conversation ended, as Genesys data has them: a survey answered
        and the last agent's wrap-up code corrected. None for a conversation no agent took."""
        conversation = self.conversation(index)
        agents = [p for p in conversation["participants"] if p["purpose"] == "agent"]
        if not agents:
            return None
        changed: Record = json.loads(json.dumps(conversation))
        wrapup = changed["participants"][-1]["sessions"][0]["segments"][-1]
        codes = [code["id"] for code in self.wrap_up_codes]
        wrapup["wrapUpCode"] = codes[(codes.index(wrapup["wrapUpCode"]) + 1) % len(codes)]
        surveys = changed.setdefault("surveys", [])
        surveys.append({
            "surveyId": stable_id(self.seed, f"survey/{index}", len(surveys)),
            "surveyFormName": "Post-contact survey", "surveyStatus": "Finished",
            "surveyCompletedDate": conversation["conversationEnd"],
            "oSurveyTotalScore": 5 - len(surveys) % 5,
        })  # fmt: skip
        self.changed[index] = changed
        return changed


class ConversationBuilder:
    """One generated conversation: a customer, queues, agents, holds, transfers, wrap-up."""

    def __init__(self, records: GenesysRecords, index: int) -> None:
        self.records = records
        self.index = index
        self.seed = records.seed
        self.rng: Random = rng_for(records.seed, "genesys-conversation", index)
        self.clock = float(records.starts[index])

    def _id(self, kind: str, n: int = 0) -> str:
        return stable_id(self.seed, f"conversation/{self.index}/{kind}", n)

    def build(self) -> Record:
        rng = self.rng
        media = rng.choices([m for m, _ in MEDIA], [w for _, w in MEDIA])[0]
        outbound = media in ("voice", "email") and rng.random() < 0.15
        direction = "outbound" if outbound else "inbound"
        contact_index = rng.randrange(self.records.sizes.contacts)
        linked = rng.random() < 0.8
        abandoned = not outbound and rng.random() < 0.1
        transferred = not abandoned and rng.random() < 0.15
        held = media in ("voice", "callback") and rng.random() < 0.3
        start = self.clock
        customer_session = self._id("session", 0)
        queues = rng.sample(range(len(QUEUE_NAMES)), 2)
        acd = [self._acd(customer_session, queues[0], abandoned)]
        agents: list[Record] = []
        if not abandoned:
            agents.append(self._agent(customer_session, queues[0], media, held, transferred))
            if transferred:
                acd.append(self._acd(customer_session, queues[1], False, n=1))
                agents.append(self._agent(customer_session, queues[1], media, False, False, n=1))
        end = self.clock
        customer = self._customer(contact_index, linked, media, direction, start, end)
        conversation: Record = {
            "conversationId": stable_id(self.seed, "conversation", self.index),
            "conversationStart": genesys_time(start),
            "conversationEnd": genesys_time(end),
            "originatingDirection": direction,
            "divisionIds": [stable_id(self.seed, "division", 0)],
            "participants": [customer, *acd, *agents],
        }
        return conversation

    def _customer(
        self, contact_index: int, linked: bool, media: str, direction: str, start: float,
        end: float,
    ) -> Record:  # fmt: skip
        records = self.records
        contact = records.contact(contact_index)
        who = person(self.seed, contact_index, "genesys")
        session: Record = {"sessionId": self._id("session", 0), "mediaType": media,
                           "direction": direction}  # fmt: skip
        phone = _e164(who.phone)
        inbound = direction == "inbound"
        if media in ("voice", "callback"):
            tel = f"tel:{phone}" if phone else "tel:anonymous"
            ours = f"tel:{COMPANY_NUMBER}"
            session["ani"], session["dnis"] = (tel, ours) if inbound else (ours, tel)
            if media == "callback":
                session["callbackNumbers"] = [tel]
        elif media == "message":
            session["messageType"] = "sms"
            session["addressFrom"], session["addressTo"] = (phone or "", COMPANY_NUMBER)
        elif media == "email" and who.email:
            pair = (who.email, SUPPORT_ADDRESS)
            session["addressFrom"], session["addressTo"] = pair if inbound else pair[::-1]
        session["segments"] = [{
            "segmentStart": genesys_time(start), "segmentEnd": genesys_time(end),
            "segmentType": "interact", "disconnectType": "client",
        }]  # fmt: skip
        participant: Record = {
            "participantId": self._id("participant", 0),
            "participantName": f"{who.given_name} {who.family_name}",
            "purpose": "customer",
            "sessions": [session],
        }
        if linked:
            participant["externalContactId"] = contact["id"]
        return participant

    def _acd(self, peer: str, queue: int, abandoned: bool, n: int = 0) -> Record:
        wait = self.rng.randint(5, 180)
        begin, self.clock = self.clock, self.clock + wait
        queue_id = self.records.queues[queue]["id"]
        metrics = [{"name": "tAbandon" if abandoned else "tAcd", "value": wait * 1000,
                    "emitDate": genesys_time(self.clock)}]  # fmt: skip
        segment = {"segmentStart": genesys_time(begin), "segmentEnd": genesys_time(self.clock),
                   "segmentType": "interact", "queueId": queue_id,
                   "disconnectType": "client" if abandoned else "transfer"}  # fmt: skip
        return {
            "participantId": self._id("acd", n),
            "participantName": QUEUE_NAMES[queue],
            "purpose": "acd",
            "sessions": [{"sessionId": self._id("acd-session", n), "mediaType": "voice",
                          "peerId": peer, "segments": [segment], "metrics": metrics}],
        }  # fmt: skip

    def _agent(
        self, peer: str, queue: int, media: str, held: bool, transfers: bool, n: int = 0
    ) -> Record:
        rng, records = self.rng, self.records
        user = rng.randrange(records.sizes.users)
        queue_id = records.queues[queue]["id"]
        segments: list[Record] = []

        def segment(kind: str, seconds: int, **extra: Any) -> int:
            begin, self.clock = self.clock, self.clock + seconds
            segments.append({"segmentStart": genesys_time(begin),
                             "segmentEnd": genesys_time(self.clock), "segmentType": kind,
                             "queueId": queue_id, **extra})  # fmt: skip
            return seconds

        alert = segment("alert", rng.randint(2, 20))
        talk = segment("interact", rng.randint(30, 600))
        hold = segment("hold", rng.randint(10, 120)) if held else 0
        if held:
            talk += segment("interact", rng.randint(20, 300))
        segments[-1]["disconnectType"] = "transfer" if transfers else "peer"
        after_talk = self.clock
        code = records.wrap_up_codes[rng.randrange(len(WRAP_UP_NAMES))]["id"]
        acw = segment("wrapup", rng.randint(10, 120), wrapUpCode=code)
        self.clock = after_talk  # wrap-up runs beside what follows, not before it
        emit = genesys_time(after_talk)
        metrics = [
            {"name": "tAlert", "value": alert * 1000, "emitDate": emit},
            {"name": "tTalkComplete", "value": talk * 1000, "emitDate": emit},
            {"name": "tAcw", "value": acw * 1000, "emitDate": emit},
            {"name": "tHandle", "value": (talk + hold + acw) * 1000, "emitDate": emit},
        ]
        if held:
            metrics.append({"name": "tHeldComplete", "value": hold * 1000, "emitDate": emit})
        if transfers:
            metrics.append({"name": "nTransferred", "value": 1, "emitDate": emit})
        return {
            "participantId": self._id("agent", n),
            "purpose": "agent",
            "userId": stable_id(self.seed, "user", user),
            "sessions": [{"sessionId": self._id("agent-session", n), "mediaType": media,
                          "peerId": peer, "segments": segments, "metrics": metrics}],
        }  # fmt: skip
