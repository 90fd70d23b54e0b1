"""A push's `trace_id` holds any request id the backend takes (1-64 characters, docs/contracts.md):
the bot env sends the inbound message's dedup key, and a WeChat message's (`wx:<appid>:<MsgId>`) is
longer than the 32 characters 0008 gave the column (PostgreSQL refused such a push).

Revision ID: 0011_trace_id
Revises: 0010_handoff_acknowledged
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_trace_id"
down_revision = "0010_handoff_acknowledged"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("trace_id", existing_type=sa.String(length=32), type_=sa.String(length=64))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("trace_id", existing_type=sa.String(length=64), type_=sa.String(length=32))
