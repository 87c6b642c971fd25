"""Records a sync receives already past their retention period are not stored.

Without this, the purge would be undone by the next sync that reads an old interaction or
closed case again (a full refresh, a vendor that re-sends history, a changed record): the
hub would hold it again until the next purge. A stored copy of such a record (kept from
before it aged, or from when it was still open) is deleted in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from hub.retention.ages import record_expired
from hub.retention.policy import RetentionSettings
from hub.store.records import RecordRow, UnsealedRow

Row = TypeVar("Row", RecordRow, UnsealedRow)


def split_expired(
    rows: Sequence[Row], policy: RetentionSettings, now: datetime
) -> tuple[list[Row], list[Row]]:
    """(rows to store, rows already past retention at ``now``); a row's ``data`` need hold only
    its fields stored in clear (the periods depend on status and dates, never personal ones)."""
    kept: list[Row] = []
    expired: list[Row] = []
    for row in rows:
        past = record_expired(
            row.kind, row.data, row.source_updated_at, stored_at=now, policy=policy, now=now
        )
        (expired if past else kept).append(row)
    return kept, expired
