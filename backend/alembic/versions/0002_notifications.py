"""Notifications: recipient ordering, direct addresses, claim tokens; push contacts and SMS blocks.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_NEW_COLUMNS = (
    ("recipient_key", sa.String(length=80)),
    ("phone", sa.String(length=20)),
    ("wechat_openid", sa.String(length=64)),
    ("wecom_user_id", sa.String(length=64)),
    ("claim_token", sa.String(length=32)),
    ("sending_channel", sa.String(length=16)),
    ("merged_into_id", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        for name, type_ in _NEW_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.create_index(op.f("ix_outbox_message_recipient_key"), ["recipient_key"], unique=False)
    op.execute(
        "UPDATE outbox_message SET recipient_key = CASE WHEN customer_id IS NOT NULL"
        " THEN 'c:' || CAST(customer_id AS VARCHAR) ELSE 'w:' || CAST(worker_id AS VARCHAR) END"
        " WHERE recipient_key IS NULL"
    )
    op.create_table(
        "push_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_key", sa.String(length=80), nullable=False),
        sa.Column("preferred_channel", sa.String(length=16), nullable=True),
        sa.Column("last_channel", sa.String(length=16), nullable=True),
        sa.Column("unreachable", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_contact")),
        sa.UniqueConstraint("recipient_key", name=op.f("uq_push_contact_recipient_key")),
    )
    op.create_table(
        "sms_block",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_block")),
        sa.UniqueConstraint("phone", name=op.f("uq_sms_block_phone")),
    )


def downgrade() -> None:
    op.drop_table("sms_block")
    op.drop_table("push_contact")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_index(op.f("ix_outbox_message_recipient_key"))
        for name, _type in reversed(_NEW_COLUMNS):
            batch.drop_column(name)
