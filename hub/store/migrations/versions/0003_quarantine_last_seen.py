"""quarantine entries keep their id while a record stays invalid: last_seen_at says when
it was last read still invalid (created_at stays the first time)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE quarantine SET last_seen_at = created_at")
    with op.batch_alter_table("quarantine") as batch_op:
        batch_op.alter_column(
            "last_seen_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch_op:
        batch_op.drop_column("last_seen_at")
