"""Every table of the backend: topology, customers, outage pool, tickets, applications, bills,
hand-offs, idempotency keys, daily number sequences, and the notifications outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_sequence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_sequence")),
        sa.UniqueConstraint("prefix", "day", name=op.f("uq_daily_sequence_prefix")),
    )
    op.create_table(
        "feeder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeder")),
        sa.UniqueConstraint("code", name=op.f("uq_feeder_code")),
    )
    op.create_table(
        "grid_cell",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("neighbour_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["neighbour_id"], ["grid_cell.id"], name=op.f("fk_grid_cell_neighbour_id_grid_cell")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_cell")),
        sa.UniqueConstraint("code", name=op.f("uq_grid_cell_code")),
    )
    op.create_table(
        "handoff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("account_no", sa.String(length=10), nullable=True),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff")),
    )
    op.create_index(op.f("ix_handoff_sender_id"), "handoff", ["sender_id"], unique=False)
    op.create_index(op.f("ix_handoff_status"), "handoff", ["status"], unique=False)

    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_idempotency_key_scope")),
    )
    op.create_table(
        "outage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("estimated_restore_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("estimate_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage")),
    )
    op.create_index(op.f("ix_outage_status"), "outage", ["status"], unique=False)

    op.create_table(
        "transformer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("feeder_id", sa.Integer(), nullable=False),
        sa.Column("grid_cell_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["feeder_id"], ["feeder.id"], name=op.f("fk_transformer_feeder_id_feeder")),
        sa.ForeignKeyConstraint(["grid_cell_id"], ["grid_cell.id"], name=op.f("fk_transformer_grid_cell_id_grid_cell")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transformer")),
        sa.UniqueConstraint("code", name=op.f("uq_transformer_code")),
    )
    op.create_index(op.f("ix_transformer_feeder_id"), "transformer", ["feeder_id"], unique=False)
    op.create_index(op.f("ix_transformer_grid_cell_id"), "transformer", ["grid_cell_id"], unique=False)

    op.create_table(
        "worker",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("grid_cell_id", sa.Integer(), nullable=False),
        sa.Column("wecom_user_id", sa.String(length=64), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("is_supervisor", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["grid_cell_id"], ["grid_cell.id"], name=op.f("fk_worker_grid_cell_id_grid_cell")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker")),
        sa.UniqueConstraint("code", name=op.f("uq_worker_code")),
        sa.UniqueConstraint("wecom_user_id", name=op.f("uq_worker_wecom_user_id")),
    )
    op.create_index(op.f("ix_worker_grid_cell_id"), "worker", ["grid_cell_id"], unique=False)
    op.create_index(op.f("ix_worker_phone"), "worker", ["phone"], unique=False)

    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_no", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("customer_type", sa.String(length=16), nullable=False),
        sa.Column("area_type", sa.String(length=16), nullable=False),
        sa.Column("transformer_id", sa.Integer(), nullable=False),
        sa.Column("grid_cell_id", sa.Integer(), nullable=True),
        sa.Column("medical_equipment", sa.Boolean(), nullable=False),
        sa.Column("has_peak_valley", sa.Boolean(), nullable=False),
        sa.Column("balance", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("manager_name", sa.String(length=32), nullable=True),
        sa.Column("manager_phone", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["grid_cell_id"], ["grid_cell.id"], name=op.f("fk_customer_grid_cell_id_grid_cell")),
        sa.ForeignKeyConstraint(
            ["transformer_id"], ["transformer.id"], name=op.f("fk_customer_transformer_id_transformer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("account_no", name=op.f("uq_customer_account_no")),
    )
    op.create_index(op.f("ix_customer_address"), "customer", ["address"], unique=False)
    op.create_index(op.f("ix_customer_phone"), "customer", ["phone"], unique=False)
    op.create_index(op.f("ix_customer_transformer_id"), "customer", ["transformer_id"], unique=False)

    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_no", sa.String(length=14), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("applicant_name", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("capacity_kva", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("manager_name", sa.String(length=32), nullable=False),
        sa.Column("manager_phone", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_application_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
        sa.UniqueConstraint("application_no", name=op.f("uq_application_application_no")),
    )
    op.create_index(op.f("ix_application_customer_id"), "application", ["customer_id"], unique=False)

    op.create_table(
        "bill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("kwh", sa.Integer(), nullable=False),
        sa.Column("peak_kwh", sa.Integer(), nullable=True),
        sa.Column("valley_kwh", sa.Integer(), nullable=True),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("balance", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_bill_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill")),
        sa.UniqueConstraint("customer_id", "period", name=op.f("uq_bill_customer_id")),
    )
    op.create_index("ix_bill_period", "bill", ["period"], unique=False)

    op.create_table(
        "outage_scope",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("feeder_id", sa.Integer(), nullable=True),
        sa.Column("transformer_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_outage_scope_customer_id_customer")),
        sa.ForeignKeyConstraint(["feeder_id"], ["feeder.id"], name=op.f("fk_outage_scope_feeder_id_feeder")),
        sa.ForeignKeyConstraint(
            ["outage_id"], ["outage.id"], name=op.f("fk_outage_scope_outage_id_outage"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["transformer_id"], ["transformer.id"], name=op.f("fk_outage_scope_transformer_id_transformer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_scope")),
    )
    op.create_index(op.f("ix_outage_scope_customer_id"), "outage_scope", ["customer_id"], unique=False)
    op.create_index(op.f("ix_outage_scope_feeder_id"), "outage_scope", ["feeder_id"], unique=False)
    op.create_index(op.f("ix_outage_scope_outage_id"), "outage_scope", ["outage_id"], unique=False)
    op.create_index(op.f("ix_outage_scope_transformer_id"), "outage_scope", ["transformer_id"], unique=False)

    op.create_table(
        "outage_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_outage_subscription_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["outage_id"],
            ["outage.id"],
            name=op.f("fk_outage_subscription_outage_id_outage"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_subscription")),
        sa.UniqueConstraint("outage_id", "customer_id", name=op.f("uq_outage_subscription_outage_id")),
    )
    op.create_index(op.f("ix_outage_subscription_customer_id"), "outage_subscription", ["customer_id"], unique=False)
    op.create_index(op.f("ix_outage_subscription_outage_id"), "outage_subscription", ["outage_id"], unique=False)

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("provider_msg_id", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_outbox_message_customer_id_customer")),
        sa.ForeignKeyConstraint(["worker_id"], ["worker.id"], name=op.f("fk_outbox_message_worker_id_worker")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_message_dedup_key")),
    )
    op.create_index(op.f("ix_outbox_message_customer_id"), "outbox_message", ["customer_id"], unique=False)
    op.create_index(op.f("ix_outbox_message_status"), "outbox_message", ["status"], unique=False)
    op.create_index(op.f("ix_outbox_message_worker_id"), "outbox_message", ["worker_id"], unique=False)

    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=14), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("callback_phone", sa.String(length=20), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("backup_worker_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arrival_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restore_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contact_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["backup_worker_id"], ["worker.id"], name=op.f("fk_ticket_backup_worker_id_worker")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_ticket_customer_id_customer")),
        sa.ForeignKeyConstraint(["outage_id"], ["outage.id"], name=op.f("fk_ticket_outage_id_outage")),
        sa.ForeignKeyConstraint(["worker_id"], ["worker.id"], name=op.f("fk_ticket_worker_id_worker")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sa.UniqueConstraint("ticket_no", name=op.f("uq_ticket_ticket_no")),
    )
    op.create_index(op.f("ix_ticket_customer_id"), "ticket", ["customer_id"], unique=False)
    op.create_index(op.f("ix_ticket_status"), "ticket", ["status"], unique=False)
    op.create_index("ix_ticket_worker_status", "ticket", ["worker_id", "status"], unique=False)

    op.create_table(
        "wechat_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_wechat_binding_customer_id_customer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_binding")),
        sa.UniqueConstraint("openid", "customer_id", name=op.f("uq_wechat_binding_openid")),
    )
    op.create_index(op.f("ix_wechat_binding_customer_id"), "wechat_binding", ["customer_id"], unique=False)
    op.create_index(op.f("ix_wechat_binding_openid"), "wechat_binding", ["openid"], unique=False)

    op.create_table(
        "application_stage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=24), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_application_stage_application_id_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_stage")),
    )
    op.create_index(op.f("ix_application_stage_application_id"), "application_stage", ["application_id"], unique=False)

    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_event_ticket_id_ticket"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_event")),
    )
    op.create_index(op.f("ix_ticket_event_ticket_id"), "ticket_event", ["ticket_id"], unique=False)

    op.create_table(
        "ticket_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.String(length=128), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_photo_ticket_id_ticket"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_photo")),
    )
    op.create_index(op.f("ix_ticket_photo_ticket_id"), "ticket_photo", ["ticket_id"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; children before parents.
    op.drop_table("ticket_photo")
    op.drop_table("ticket_event")
    op.drop_table("application_stage")
    op.drop_table("wechat_binding")
    op.drop_table("ticket")
    op.drop_table("outbox_message")
    op.drop_table("outage_subscription")
    op.drop_table("outage_scope")
    op.drop_table("bill")
    op.drop_table("application")
    op.drop_table("customer")
    op.drop_table("worker")
    op.drop_table("transformer")
    op.drop_table("outage")
    op.drop_table("idempotency_key")
    op.drop_table("handoff")
    op.drop_table("grid_cell")
    op.drop_table("feeder")
    op.drop_table("daily_sequence")
