"""Fault diagnosis (研判) and proactive repair (主动抢修): suspected faults in the outage pool with
their source and fault ticket, merged tickets, who reported during an outage, device events and
states, the questions pushes asked (prompts), and where transformers and grid cells are.

Revision ID: 0007_faults
Revises: 0006_security
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_faults"
down_revision = "0006_security"
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("outage") as batch:
        batch.add_column(sa.Column("source", sa.String(length=16), server_default="dispatcher", nullable=False))
        batch.add_column(sa.Column("fault_ticket_no", sa.String(length=14), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_outage_merged_into_id_outage"), "outage", ["merged_into_id"], ["id"])
    with op.batch_alter_table("outage_subscription") as batch:
        # Subscriptions so far were all made by reports.
        batch.add_column(sa.Column("reported", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_ticket_merged_into_id_ticket"), "ticket", ["merged_into_id"], ["id"])
        batch.create_index(op.f("ix_ticket_merged_into_id"), ["merged_into_id"], unique=False)
    for table in ("transformer", "grid_cell"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
            batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))
    op.create_table(
        "device_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_device_event_event_id")),
    )
    op.create_index(
        "ix_device_event_pending", "device_event", ["occurred_at"], postgresql_where=_PENDING, sqlite_where=_PENDING
    )
    op.create_table(
        "device_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("transformer_id", sa.Integer(), nullable=True),
        sa.Column("lost_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["transformer_id"], ["transformer.id"], name=op.f("fk_device_state_transformer_id_transformer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_state")),
        sa.UniqueConstraint("scope", "code", name=op.f("uq_device_state_scope")),
    )
    op.create_index(op.f("ix_device_state_transformer_id"), "device_state", ["transformer_id"], unique=False)
    op.create_table(
        "prompt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("wechat_openid", sa.String(length=64), nullable=True),
        sa.Column("ticket_no", sa.String(length=14), nullable=True),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.Column("dedup_key", sa.String(length=255), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_prompt_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_prompt_dedup_key")),
    )
    op.create_index(op.f("ix_prompt_customer_id"), "prompt", ["customer_id"], unique=False)
    op.create_index(op.f("ix_prompt_phone"), "prompt", ["phone"], unique=False)
    op.create_index(op.f("ix_prompt_wechat_openid"), "prompt", ["wechat_openid"], unique=False)


def downgrade() -> None:
    op.drop_table("prompt")
    op.drop_table("device_state")
    op.drop_index("ix_device_event_pending", table_name="device_event")
    op.drop_table("device_event")
    for table in ("grid_cell", "transformer"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("longitude")
            batch.drop_column("latitude")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index(op.f("ix_ticket_merged_into_id"))
        batch.drop_constraint(op.f("fk_ticket_merged_into_id_ticket"), type_="foreignkey")
        batch.drop_column("merged_into_id")
    with op.batch_alter_table("outage_subscription") as batch:
        batch.drop_column("reported")
    with op.batch_alter_table("outage") as batch:
        batch.drop_constraint(op.f("fk_outage_merged_into_id_outage"), type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_column("fault_ticket_no")
        batch.drop_column("source")
