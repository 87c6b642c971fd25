"""A store holding a sealed value of every kind the vault seals, and a check that each of
them still opens: what the key rotation and rewrap tests start from and end with."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from hub.connector import OutboundMessage
from hub.runtime import Hub
from hub.services.check import check_store
from hub.services.outbox import enqueue
from hub.store.schema import connections, outbox
from hub.sync import sync_connection
from hub.vault import open_value, seal_value
from hub.vault.rotation import confirm_primaries

PII_CONNECTION = "pii-conn"
OUTBOX_KEY = "welcome-1"


async def fill_store(hub: Hub) -> None:
    """Sync the memory connection "mem" (records, raw payloads, quarantined cases, its token
    secret), then add an outbox message and a connection with a sealed personal field."""
    await sync_connection(hub, "mem")
    async with hub.engine.begin() as conn:
        message = OutboundMessage(to="+14155550100", body="welcome")
        await enqueue(conn, hub.keyring, connection="mem", key=OUTBOX_KEY, message=message)
        sealed = seal_value(
            "agent@example.com",
            hub.keyring,
            table="connections",
            column="config.email",
            row=PII_CONNECTION,
        )
        await conn.execute(
            connections.insert().values(
                name=PII_CONNECTION,
                connector="memory",
                config={"email": sealed, "page_size": 10},
                created_at=datetime.now(UTC),
            )
        )
        await confirm_primaries(conn, hub.keyring)  # as every writer does: counts the seal


async def unopened_values(hub: Hub) -> list[str]:
    """Every sealed value that does not open where it is, with `hub check`'s reasons (empty
    when all open, hashes and index rows match), plus the outbox and the personal field."""
    report = await check_store(hub)
    problems = [f"{f.table} {f.row} {f.column}: {f.reason}" for f in report.failures]
    async with hub.engine.connect() as conn:
        for entry in await conn.execute(sa.select(outbox)):
            row = f"{entry.connection}/{entry.idempotency_key}"
            try:
                open_value(entry.message, hub.keyring, table="outbox", column="message", row=row)
            except Exception as exc:
                problems.append(f"outbox {row}: {exc}")
        config = await conn.scalar(
            sa.select(connections.c.config).where(connections.c.name == PII_CONNECTION)
        )
    if config is not None:
        context = {"table": "connections", "column": "config.email", "row": PII_CONNECTION}
        try:
            assert open_value(config["email"], hub.keyring, **context) == "agent@example.com"
        except Exception as exc:
            problems.append(f"connections {PII_CONNECTION}: {exc}")
    return problems
