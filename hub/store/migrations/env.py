"""Alembic environment: the hub always hands over an open connection (see hub.store.engine)."""

from __future__ import annotations

from alembic import context

from hub.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
