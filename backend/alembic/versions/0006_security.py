"""SMS delivery reports: when a push arrived, why it did not, and the channel not to use again.

Revision ID: 0006_security
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_security"
down_revision = "0005"
branch_labels = None
depends_on = None

_NEW_COLUMNS = (
    ("delivered_at", sa.DateTime(timezone=True)),
    ("delivery_error", sa.String(length=64)),
    ("avoid_channel", sa.String(length=16)),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        for name, type_ in _NEW_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.create_index(op.f("ix_outbox_message_provider_msg_id"), ["provider_msg_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_index(op.f("ix_outbox_message_provider_msg_id"))
        for name, _type in reversed(_NEW_COLUMNS):
            batch.drop_column(name)
