"""Hand-offs remember when the customer was told their messages are passed on (once per hand-off),
so that the channels' direct relay and the assistant's turn acknowledge the same way.

Revision ID: 0010_handoff_acknowledged
Revises: 0009_staff
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_handoff_acknowledged"
down_revision = "0009_staff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff") as table:
        table.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoff") as table:
        table.drop_column("acknowledged_at")
