"""outbox entries whose send is uncertain are re-checked on a schedule (checks, due_at);
case_pushes records each distinct case push, in one transaction with what it causes

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("checks", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "case_pushes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_pushes")),
        sa.UniqueConstraint("connection", "idempotency_key", "revision", name="uq_case_pushes_key"),
    )


def downgrade() -> None:
    op.drop_table("case_pushes")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("due_at")
        batch_op.drop_column("checks")
