"""``hub bench retention``: how fast the purge strips payloads and deletes records.

A new hub that keeps interactions 2 years (the typical period; the default keeps them
forever) is filled with ``records`` interactions past it (each with a blind-index row, as a
real one has) and ``records`` customers whose payload is past its period, then one
``run_retention`` purges both. The rows copy one sealed template per type
(the purge never opens a token), so filling the hub costs seconds, not a sync.
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.models import Customer, Interaction, Provenance
from hub.runtime import Hub, utcnow
from hub.store.schema import blind_index, records
from hub.vault import seal_record

_CHUNK = 5000


async def bench_retention(
    *, records_per_type: int, batch_size: int, database_url: str | None = None
) -> dict[str, Any]:
    """Fill a new hub, purge it once, and report rows per second for each data type."""
    from hub.config import load_settings, write_default_config
    from hub.retention import RetentionSettings
    from hub.services.retention import run_retention
    from hub.services.setup import initialise

    with tempfile.TemporaryDirectory(prefix="hub-bench-retention-") as tmp:
        home = Path(tmp)
        if database_url:
            write_default_config(home / "hub.toml", {"database_url": database_url})
        await initialise(home)
        settings = load_settings(home / "hub.toml")
        # Interactions are kept forever by default; the bench sets the typical period.
        policy = RetentionSettings(interactions="2 years", batch_size=batch_size)
        settings = settings.model_copy(update={"retention": policy})
        async with Hub.open(settings) as hub:
            await _fill(hub, records_per_type)
            last_batch: dict[str, float] = {}
            started = time.perf_counter()
            outcome = await run_retention(
                hub, on_batch=lambda kind, _n: last_batch.__setitem__(kind, time.perf_counter())
            )
            seconds = time.perf_counter() - started
    figures: dict[str, Any] = {
        "database": settings.resolved_database_url.split(":", 1)[0],
        "records_per_type": records_per_type,
        "batch_size": batch_size,
    }
    previous = started
    for purged in outcome.types:
        if purged.data_type in last_batch:
            spent = last_batch[purged.data_type] - previous
            previous = last_batch[purged.data_type]
            figures[purged.data_type] = _rate(purged.count, spent)
    figures["total"] = _rate(outcome.total, seconds)
    return figures


def _rate(rows: int, seconds: float) -> dict[str, Any]:
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds, 1) if seconds else None,
    }


async def _fill(hub: Hub, count: int) -> None:
    now = utcnow()
    call = _template(
        hub,
        Interaction(
            provenance=_provenance("call"),
            raw={"id": "template", "duration": 61},
            interaction_kind="call",
            ended_at=now - timedelta(days=3 * 366),
            customer_phones=["+14155550100"],
        ),
        stored_at=now,
    )
    person = _template(
        hub,
        Customer(
            provenance=_provenance("person"),
            raw={"id": "template", "name": "Sarah Atkins"},
            display_name="Sarah Atkins",
            emails=["sarah.atkins@example.com"],
        ),
        stored_at=now - timedelta(days=60),
    )
    for template, object_type in ((call, "call"), (person, "person")):
        for start in range(0, count, _CHUNK):
            rows = [
                {**template, "object_type": object_type, "external_id": f"{object_type}-{i}"}
                for i in range(start, min(start + _CHUNK, count))
            ]
            async with hub.engine.begin() as conn:
                result = await conn.execute(sa.insert(records).returning(records.c.id), rows)
                ids = list(result.scalars())
                if object_type == "call":
                    await conn.execute(
                        sa.insert(blind_index),
                        [{"record_id": i, "kind": "phone", "key_id": 1, "digest": f"{i:064x}"}
                         for i in ids],
                    )  # fmt: skip


def _provenance(object_type: str) -> Provenance:
    return Provenance(
        system="bench", connection="bench", object_type=object_type, external_id="template"
    )


def _template(hub: Hub, model: Interaction | Customer, *, stored_at: Any) -> dict[str, Any]:
    sealed = seal_record(model, hub.keyring)
    return {
        "connection": "bench",
        "kind": model.kind,
        "stream": model.kind,
        "data": sealed.data,
        "raw": sealed.raw,
        "content_hash": sealed.content_hash,
        "mapping_version": "bench",
        "source_updated_at": None,
        "deleted": False,
        "created_at": stored_at,
        "updated_at": stored_at,
    }
