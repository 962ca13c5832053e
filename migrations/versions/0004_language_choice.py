"""whether the person chose their language, and which language was last offered

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language_chosen", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("language_offered", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("language_offered")
        batch_op.drop_column("language_chosen")
