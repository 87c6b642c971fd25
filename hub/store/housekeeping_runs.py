"""The last fire of each housekeeping job (when, how it ended), for `hub schedules list`.

Kept as ``stream_state`` rows under a connection name no connection uses, one row per job
overwritten at each fire: the jobs fire every 30 s to every day, so a row per fire would grow
without bound, and the cluster's nodes must all see the last outcome, whichever ran it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.runs import save_state
from hub.store.schema import stream_state

# Schedule ids and logs spell connections "sync:<connection>/<stream>"; no connection is
# named like this one.
HOUSEKEEPING_CONNECTION = "hub:housekeeping"


@dataclass(frozen=True)
class HousekeepingRun:
    """A housekeeping job's last fire: when it started, how it ended, and its safe error."""

    started_at: datetime
    outcome: str  # succeeded | failed
    error: str | None


async def save_run(conn: AsyncConnection, name: str, run: HousekeepingRun, now: datetime) -> None:
    state = {"started_at": run.started_at.isoformat(), "outcome": run.outcome, "error": run.error}
    await save_state(conn, HOUSEKEEPING_CONNECTION, name, state, now)


async def load_runs(conn: AsyncConnection) -> dict[str, HousekeepingRun]:
    """Every housekeeping job's last fire, by job name (a job never fired is absent)."""
    rows = await conn.execute(
        sa.select(stream_state.c.stream, stream_state.c.state).where(
            stream_state.c.connection == HOUSEKEEPING_CONNECTION
        )
    )
    return {row.stream: _run(row.state) for row in rows if row.state}


def _run(state: dict[str, Any]) -> HousekeepingRun:
    return HousekeepingRun(
        datetime.fromisoformat(state["started_at"]), state["outcome"], state.get("error")
    )
