"""Service standards, reports and tracing: SLA events, conversation outcomes, grid-cell counties,
and the request id that follows a push through the outbox.

Revision ID: 0008_standards
Revises: 0007_faults
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_standards"
down_revision = "0007_faults"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("step", sa.String(length=8), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grid_cell_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["grid_cell_id"], ["grid_cell.id"], name=op.f("fk_sla_event_grid_cell_id_grid_cell")),
        sa.ForeignKeyConstraint(["worker_id"], ["worker.id"], name=op.f("fk_sla_event_worker_id_worker")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_event")),
        sa.UniqueConstraint("standard", "subject", "stage", "step", name=op.f("uq_sla_event_standard")),
    )
    op.create_index("ix_sla_event_step_at", "sla_event", ["step", "at"], unique=False)
    op.create_table(
        "conversation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_event")),
        sa.UniqueConstraint("sender_id", "channel", "kind", "at", name=op.f("uq_conversation_event_sender_id")),
    )
    op.create_index(op.f("ix_conversation_event_at"), "conversation_event", ["at"], unique=False)
    with op.batch_alter_table("grid_cell") as batch:
        batch.add_column(sa.Column("county", sa.String(length=32), nullable=True))
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("trace_id", sa.String(length=32), nullable=True))
    # Reports count tickets and pushes by the day they were created.
    op.create_index("ix_ticket_created_at", "ticket", ["created_at"], unique=False)
    op.create_index("ix_outbox_message_created_at", "outbox_message", ["created_at"], unique=False)
    # The live view counts the reports of the last minute (tickets and subscriptions to outages).
    op.create_index("ix_outage_subscription_created_at", "outage_subscription", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outage_subscription_created_at", table_name="outage_subscription")
    op.drop_index("ix_outbox_message_created_at", table_name="outbox_message")
    op.drop_index("ix_ticket_created_at", table_name="ticket")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("trace_id")
    with op.batch_alter_table("grid_cell") as batch:
        batch.drop_column("county")
    op.drop_index(op.f("ix_conversation_event_at"), table_name="conversation_event")
    op.drop_table("conversation_event")
    op.drop_index("ix_sla_event_step_at", table_name="sla_event")
    op.drop_table("sla_event")
