"""The housekeeping jobs `hub run` schedules: each runs on an empty hub, and the audit job
signs the trail's head (the outbox job's test is with the outbox's, against Twilio)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.housekeeping import housekeeping_jobs
from hub.runtime import Hub
from hub.services.secrets import set_secret
from hub.store.schema import audit_checkpoints


@pytest.mark.parametrize("job", housekeeping_jobs(), ids=lambda job: job.name)
async def test_each_housekeeping_job_runs_on_an_empty_hub(hub: Hub, job: object) -> None:
    await job.run(hub)  # type: ignore[attr-defined]


async def test_the_audit_job_signs_a_head_not_signed_before(hub: Hub) -> None:
    await set_secret(hub, "api", "not-a-real-token")  # an audited change: an entry to sign
    checkpoint = next(job.run for job in housekeeping_jobs() if job.name == "audit-checkpoint")

    await checkpoint(hub)

    async with hub.engine.connect() as conn:
        signed = await conn.scalar(sa.select(sa.func.count()).select_from(audit_checkpoints))
    assert signed == 1
