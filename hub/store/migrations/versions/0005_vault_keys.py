"""vault keys: seal counters and retirement on data_keys, the hash key of each record, and
the progress of the rewrap job

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_keys") as batch:
        batch.add_column(
            sa.Column("seals", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("hash_key_id", sa.Integer(), nullable=True))
    op.create_table(
        "rewrap_progress",
        sa.Column("target", sa.String(length=50), nullable=False),
        sa.Column("after", sa.String(length=300), nullable=True),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("rows_done", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_rewrap_progress")),
    )


def downgrade() -> None:
    op.drop_table("rewrap_progress")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("hash_key_id")
    with op.batch_alter_table("data_keys") as batch:
        batch.drop_column("retired_at")
        batch.drop_column("seals")
