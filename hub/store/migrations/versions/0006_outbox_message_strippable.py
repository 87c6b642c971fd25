"""outbox.message may be NULL: retention strips the sealed message of a sent entry and
keeps its key, state and vendor id, so the message is still never sent twice

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("message", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE outbox SET message = '' WHERE message IS NULL")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("message", existing_type=sa.Text(), nullable=False)
