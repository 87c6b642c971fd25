"""The account's changing state: how far each in-flight record has moved along its status
lifecycle, the messages created through the API, and the positions lists walk over.

Positions of a kind are its generated records in time order, then (messages only) the ones
created at runtime. Created messages move from ``queued`` to ``sent`` to ``delivered`` by
the server clock, ``delivery_seconds`` apart, as real ones do after Twilio accepts them.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.twilio.sandbox.records import (
    CALL_FLOW,
    CONVERSATION_FLOW,
    MESSAGE_FLOW,
    TwilioRecords,
    index_of_sid,
    rfc2822,
    sid,
)

_PREFIX = {"message": "SM", "call": "CA", "conversation": "CH"}
_FINAL = {"message": MESSAGE_FLOW[-1], "call": CALL_FLOW[-1], "conversation": CONVERSATION_FLOW[-1]}
_STATUS_KEY = {"message": "status", "call": "status", "conversation": "state"}


@dataclass
class CreatedMessage:
    """A message sent through ``POST Messages.json``: its fields and when it was accepted."""

    record: dict[str, Any]
    accepted_at: float


class TwilioAccount:
    """Generated records, their lifecycle stages and the messages created at runtime."""

    def __init__(
        self,
        data: TwilioRecords,
        *,
        delivery_seconds: float = 2.0,
        list_lag_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data = data
        self.clock = clock
        self.delivery_seconds = delivery_seconds
        self.list_lag_seconds = list_lag_seconds
        self.stages: dict[tuple[str, int], int] = {}
        self.created: list[CreatedMessage] = []
        self._created_by_sid: dict[str, int] = {}

    # -- positions --------------------------------------------------------------------------

    def total(self, kind: str) -> int:
        extra = len(self.created) if kind == "message" else 0
        return self.data.counts[kind] + extra

    def ts_at(self, kind: str, position: int) -> int:
        generated = self.data.counts[kind]
        if position < generated:
            return self.data.ts(kind, position)
        return int(self.created[position - generated].accepted_at)

    def position_at(self, kind: str, ts: int | None) -> int:
        """The first position whose time is at or after ``ts`` (0 for None)."""
        if ts is None:
            return 0
        return bisect.bisect_left(range(self.total(kind)), ts, key=lambda p: self.ts_at(kind, p))

    def position_of(self, kind: str, record_sid: str) -> int | None:
        """The position of the record with ``record_sid``, or None."""
        index = index_of_sid(record_sid, _PREFIX[kind], self.data.seed, kind)
        if index is not None and index < self.data.counts[kind]:
            return index
        found = self._created_by_sid.get(record_sid) if kind == "message" else None
        return None if found is None else self.data.counts[kind] + found

    def listed(self, kind: str, position: int) -> bool:
        """Whether lists show the record at ``position`` yet: a created message only once
        ``list_lag_seconds`` have passed since it was accepted."""
        generated = self.data.counts[kind]
        if position < generated or not self.list_lag_seconds:
            return True
        accepted = self.created[position - generated].accepted_at
        return self.clock() - accepted >= self.list_lag_seconds

    def record_at(self, kind: str, position: int, base: str) -> dict[str, Any]:
        """The record at ``position`` as the API shows it now (``base`` for v1 URLs)."""
        generated = self.data.counts[kind]
        if position >= generated:
            return self._created_view(self.created[position - generated])
        stage = self.stages.get((kind, position), 0)
        if kind == "message":
            return self.data.message(position, stage)
        if kind == "call":
            return self.data.call(position, stage)
        return self.data.conversation(position, base, stage)

    # -- writes -----------------------------------------------------------------------------

    def create_message(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Accept a message to send; it is ``queued`` now and delivered later."""
        number = len(self.created)
        message_sid = sid("SM", self.data.seed, "created-message", number)
        now = self.clock()
        last = self.ts_at("message", self.total("message") - 1)
        accepted = max(now, float(last))  # list order is time order
        uri = f"/2010-04-01/Accounts/{self.data.account_sid}/Messages/{message_sid}"
        body = str(fields.get("body") or "")
        segments = 1 + len(body.encode()) // 160
        record = {
            "account_sid": self.data.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": rfc2822(accepted),
            # [uncertain] Twilio fills date_sent once the carrier takes the message; the
            # sandbox dates it at acceptance so the DateSent filters find it at once.
            "date_sent": rfc2822(accepted),
            "date_updated": rfc2822(accepted),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": fields.get("from"),
            "messaging_service_sid": fields.get("messaging_service_sid"),
            "num_media": "0",
            "num_segments": str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": message_sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": fields["to"],
            "uri": f"{uri}.json",
        }
        self._created_by_sid[message_sid] = number
        self.created.append(CreatedMessage(record, accepted))
        return self._created_view(self.created[-1])

    def _created_view(self, created: CreatedMessage) -> dict[str, Any]:
        """A created message as it stands by now: its status moves with the clock."""
        steps = int(max(0.0, self.clock() - created.accepted_at) / self.delivery_seconds)
        stage = min(steps, len(MESSAGE_FLOW) - 1)
        if stage == 0:
            return dict(created.record)
        segments = int(created.record["num_segments"])
        return {
            **created.record,
            "status": MESSAGE_FLOW[stage],
            "date_updated": rfc2822(created.accepted_at + stage * self.delivery_seconds),
            "price": f"-{0.0079 * segments:.5f}" if stage == len(MESSAGE_FLOW) - 1 else None,
        }

    def mutate(self, count: int) -> list[str]:
        """Move ``count`` in-flight records one status further, newest first, taking the
        kinds in turn; returns them as ``object_type/sid``."""
        candidates = {kind: self._moving(kind) for kind in _PREFIX}
        changed: list[str] = []
        while len(changed) < count and any(candidates.values()):
            for kind, positions in candidates.items():
                if positions and len(changed) < count:
                    position = positions.pop(0)
                    self.stages[(kind, position)] = self.stages.get((kind, position), 0) + 1
                    record = self.record_at(kind, position, "")
                    changed.append(f"{kind}/{record['sid']}")
        return changed

    def _moving(self, kind: str) -> list[int]:
        """Generated in-flight records of ``kind`` not yet at their final status, newest first."""
        key, final = _STATUS_KEY[kind], _FINAL[kind]
        moving = []
        position = self.data.counts[kind] - 1
        while position >= 0 and self.data.in_flight(kind, position):
            if self.record_at(kind, position, "")[key] != final:
                moving.append(position)
            position -= 1
        return moving
