"""stream_schedules: per-connection and per-stream sync intervals, crons and drift targets

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_schedules",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("every_seconds", sa.Float(), nullable=True),
        sa.Column("cron", sa.String(length=100), nullable=True),
        sa.Column("drift_seconds", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection"],
            ["connections.name"],
            name=op.f("fk_stream_schedules_connection_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection", "stream", name=op.f("pk_stream_schedules")),
    )


def downgrade() -> None:
    op.drop_table("stream_schedules")
