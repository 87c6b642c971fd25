"""Twilio records generated lazily from (seed, index), in the shapes of Twilio's API.

Shapes follow ``components.schemas`` of twilio-oai's ``twilio_api_v2010.json``
(``api.v2010.account.message``, ``api.v2010.account.call``) and
``twilio_conversations_v1.json`` (``conversations.v1.conversation``). The 2010 API writes
RFC 2822 dates, v1 ISO-8601. Customers are people of the shared seeded world as Twilio holds
them: always E.164, since Twilio only knows numbers it can route.

Most of the generated history is settled (delivered, completed, closed). The newest records
(the last ``RECENT_SHARE`` of each kind, within the data's last hours) are still in flight:
each :meth:`TwilioRecords.message` ``stage`` moves one a step along Twilio's status lifecycle
(queued -> sent -> delivered; ringing -> in-progress -> completed; active -> inactive ->
closed), which is what the sandbox's ``mutate`` does.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from hub.sandbox.data import person, rng_for, spread_timestamp
from hub.sandbox.world import VendorProfile

DATA_START = 1_640_995_200  # 2022-01-01T00:00:00Z
DATA_END = 1_735_689_600  # 2025-01-01T00:00:00Z: generated history ends here
RECENT_SECONDS = 6 * 3600  # the in-flight records fall in the last hours of the history
RECENT_SHARE = 10  # one record in RECENT_SHARE is still in flight (at least one)
# Twilio holds its people by number only, always E.164; fewer of the world text or call.
WORLD_PROFILE = VendorProfile("twilio", coverage=0.4, phone_styles=(("e164", 1.0),))
COMPANY_NUMBERS = ("+15017122661", "+15558675310", "+442071838750")
WHATSAPP_SENDER = "+14155238886"
_E164 = re.compile(r"\+[1-9]\d{6,14}")
MESSAGE_FLOW = ("queued", "sent", "delivered")
CALL_FLOW = ("ringing", "in-progress", "completed")
CONVERSATION_FLOW = ("active", "inactive", "closed")
_BODIES = (
    "Your order {n} has shipped.",
    "Hi, my router keeps rebooting, can someone call me?",
    "Votre rendez-vous est confirmé pour demain.",
    "Ihre Rückerstattung wurde veranlasst.",
    "ご注文ありがとうございます。",
    "STOP",
    "Your verification code is {n}.",
    "¿Pueden ayudarme con mi factura?",
)


def sid(prefix: str, seed: int, kind: str, index: int) -> str:
    """``prefix`` + 32 hex digits: 24 derived from (seed, kind), then the index in 8, so the
    sandbox finds a record by its sid without a table."""
    digest = hashlib.blake2b(f"twilio/{seed}/{kind}".encode(), digest_size=12).hexdigest()
    return f"{prefix}{digest}{index:08x}"


def index_of_sid(value: str, prefix: str, seed: int, kind: str) -> int | None:
    """The generated index a sid stands for, or None when it is not one of ours."""
    if len(value) != len(prefix) + 32 or not value.startswith(prefix):
        return None
    if value[: len(prefix) + 24] != sid(prefix, seed, kind, 0)[: len(prefix) + 24]:
        return None
    try:
        return int(value[-8:], 16)
    except ValueError:
        return None


def rfc2822(ts: int | float) -> str:
    """``Fri, 24 May 2019 17:44:46 +0000``, as the 2010 API writes dates."""
    return format_datetime(datetime.fromtimestamp(int(ts), UTC))


def iso(ts: int | float) -> str:
    """``2019-05-24T17:44:46Z``, as the v1 APIs write dates."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TwilioRecords:
    """Lazily generated messages, calls and conversations of one account."""

    def __init__(self, *, records: int, seed: int, account_sid: str) -> None:
        if records < 1:
            raise ValueError(f"a Twilio sandbox needs at least 1 message, got records={records}")
        self.seed = seed
        self.account_sid = account_sid
        self.counts = {
            "message": records,
            "call": max(1, records // 2),
            "conversation": max(1, records // 4),
        }
        self.people = max(1, records // 3)  # so a person texts and calls more than once

    # -- time and who -----------------------------------------------------------------------

    def in_flight(self, kind: str, index: int) -> bool:
        """Whether record ``index`` of ``kind`` is one of the newest, still changing."""
        count = self.counts[kind]
        return index >= count - max(1, count // RECENT_SHARE)

    def ts(self, kind: str, index: int) -> int:
        """When record ``index`` of ``kind`` started; non-decreasing in the index."""
        count = self.counts[kind]
        recent = max(1, count // RECENT_SHARE)
        settled = count - recent
        if index < settled:
            return spread_timestamp(
                self.seed, kind, index, settled, start=DATA_START, end=DATA_END - RECENT_SECONDS
            )
        return spread_timestamp(
            self.seed, kind, index - settled, recent, start=DATA_END - RECENT_SECONDS, end=DATA_END
        )

    def customer(self, kind: str, index: int) -> tuple[int | None, str]:
        """Which of Twilio's people (its record index in the shared world) is the customer of
        record ``index``, and their E.164 number: the first of a few drawn who has a routable
        number (None and Twilio's documented magic test number when none has)."""
        rng = rng_for(self.seed, f"twilio-{kind}-who", index)
        for _ in range(12):
            who = rng.randrange(self.people)
            phone = person(self.seed, who, WORLD_PROFILE).phone
            if phone is not None and _E164.fullmatch(phone):
                return who, phone
        return None, "+15005550006"

    def customer_phone(self, kind: str, index: int) -> str:
        return self.customer(kind, index)[1]

    def _account_uri(self, collection: str, record_sid: str) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/{collection}/{record_sid}"

    # -- messages ---------------------------------------------------------------------------

    def message_sid(self, index: int) -> str:
        return sid("SM", self.seed, "message", index)

    def message(self, index: int, stage: int = 0) -> dict[str, Any]:
        """Message ``index`` as Twilio lists it, ``stage`` steps along its lifecycle."""
        rng = rng_for(self.seed, "twilio-message", index)
        sent = self.ts("message", index)
        whatsapp = rng.random() < 0.15
        ours = WHATSAPP_SENDER if whatsapp else rng.choice(COMPANY_NUMBERS)
        theirs = self.customer_phone("message", index)
        inbound = rng.random() < 0.4
        prefix = "whatsapp:" if whatsapp else ""
        direction = "inbound" if inbound else rng.choice(("outbound-api", "outbound-reply"))
        status, error = self._message_status(rng, index, stage, inbound)
        settled = status not in ("queued", "sent")
        body = rng.choice(_BODIES).format(n=rng.randrange(10_000, 99_999))
        segments = 1 + len(body.encode()) // 160
        message_sid = self.message_sid(index)
        uri = self._account_uri("Messages", message_sid)
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": rfc2822(sent - 1),
            "date_sent": rfc2822(sent),
            "date_updated": rfc2822(sent + 30 * stage + (5 if settled else 0)),
            "direction": direction,
            "error_code": error,
            "error_message": None if error is None else "Unreachable destination handset",
            "from": prefix + (theirs if inbound else ours),
            "messaging_service_sid": sid("MG", self.seed, "messaging-service", 0),
            "num_media": "0",
            "num_segments": str(segments),
            "price": f"-{0.0079 * segments:.5f}" if settled else None,
            "price_unit": "USD",
            "sid": message_sid,
            "status": status,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": prefix + (ours if inbound else theirs),
            "uri": f"{uri}.json",
        }

    def _message_status(
        self, rng: Any, index: int, stage: int, inbound: bool
    ) -> tuple[str, int | None]:
        if inbound:
            return "received", None
        if self.in_flight("message", index):
            return MESSAGE_FLOW[min(stage + index % 2, len(MESSAGE_FLOW) - 1)], None
        draw = rng.random()
        if draw < 0.06:
            return "undelivered", 30003
        if draw < 0.09:
            return "failed", 30005
        return "delivered", None

    # -- calls ------------------------------------------------------------------------------

    def call_sid(self, index: int) -> str:
        return sid("CA", self.seed, "call", index)

    def call(self, index: int, stage: int = 0) -> dict[str, Any]:
        """Call ``index`` as Twilio lists it, ``stage`` steps along its lifecycle."""
        rng = rng_for(self.seed, "twilio-call", index)
        start = self.ts("call", index)
        ours, theirs = rng.choice(COMPANY_NUMBERS), self.customer_phone("call", index)
        inbound = rng.random() < 0.6
        if self.in_flight("call", index):
            status = CALL_FLOW[min(stage + index % 2, len(CALL_FLOW) - 1)]
        else:
            status = rng.choices(("completed", "busy", "no-answer", "failed"), (85, 5, 8, 2))[0]
        talked = rng.randrange(20, 1800) if status == "completed" else 0
        ended = status not in ("ringing", "in-progress")
        call_sid = self.call_sid(index)
        uri = self._account_uri("Calls", call_sid)
        caller, callee = (theirs, ours) if inbound else (ours, theirs)
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": rfc2822(start - 2),
            "date_updated": rfc2822(start + 60 * stage + (talked if ended else 0)),
            "direction": "inbound" if inbound else "outbound-api",
            "duration": str(talked) if ended else None,
            "end_time": rfc2822(start + talked) if ended else None,
            "forwarded_from": None,
            "from": caller,
            "from_formatted": caller,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": sid("PN", self.seed, "number", COMPANY_NUMBERS.index(ours)),
            "price": f"-{0.0085 * max(1, -(-talked // 60)):.5f}" if ended else None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": call_sid,
            "start_time": rfc2822(start),
            "status": status,
            "subresource_uris": {
                "notifications": f"{uri}/Notifications.json",
                "recordings": f"{uri}/Recordings.json",
                "events": f"{uri}/Events.json",
            },
            "to": callee,
            "to_formatted": callee,
            "trunk_sid": None,
            "uri": f"{uri}.json",
        }

    # -- conversations ----------------------------------------------------------------------

    def conversation_sid(self, index: int) -> str:
        return sid("CH", self.seed, "conversation", index)

    def conversation(self, index: int, base: str, stage: int = 0) -> dict[str, Any]:
        """Conversation ``index`` as v1 lists it (absolute URLs on ``base``)."""
        created = self.ts("conversation", index)
        if self.in_flight("conversation", index):
            state = CONVERSATION_FLOW[min(stage, len(CONVERSATION_FLOW) - 1)]
        else:
            state = "closed"
        conversation_sid = self.conversation_sid(index)
        url = f"{base}/v1/Conversations/{conversation_sid}"
        return {
            "account_sid": self.account_sid,
            "chat_service_sid": sid("IS", self.seed, "chat-service", 0),
            "messaging_service_sid": sid("MG", self.seed, "messaging-service", 0),
            "sid": conversation_sid,
            "friendly_name": f"Support thread {index + 1}",
            "unique_name": None,
            "attributes": "{}",
            "state": state,
            "date_created": iso(created),
            "date_updated": iso(created + 600 * stage + (3600 if state == "closed" else 0)),
            "timers": {},
            "url": url,
            "links": {
                "participants": f"{url}/Participants",
                "messages": f"{url}/Messages",
                "webhooks": f"{url}/Webhooks",
            },
            "bindings": None,
        }
