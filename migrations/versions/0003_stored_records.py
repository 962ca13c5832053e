"""stored outbox records

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stored_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_records_stored_at"), ["stored_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stored_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_records_stored_at"))
    op.drop_table("stored_records")
