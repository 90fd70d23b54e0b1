"""Access to personal data: checks passed (access_grant) and failed (access_attempt), and the
one-time codes that bind a WeChat user to an account (bind_code).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_grant",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sender", sa.String(80), nullable=False),
        sa.Column("document", sa.String(14), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_access_grant_sender_document", "access_grant", ["sender", "document"])
    op.create_table(
        "access_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("sender", sa.String(80), nullable=False),
        sa.Column("subject", sa.String(14), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_access_attempt_sender", "access_attempt", ["purpose", "sender", "at"])
    op.create_index("ix_access_attempt_subject", "access_attempt", ["purpose", "subject", "at"])
    op.create_table(
        "bind_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customer.id"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_bind_code_openid", "bind_code", ["openid"])
    op.create_index("ix_bind_code_customer_id", "bind_code", ["customer_id"])


def downgrade() -> None:
    op.drop_table("bind_code")
    op.drop_table("access_attempt")
    op.drop_table("access_grant")
