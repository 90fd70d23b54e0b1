"""Staff and their console sessions; hand-offs with agents, lines and states; callback tasks.

The transcript a hand-off kept as one JSON value becomes lines (`handoff_line`), so that customer
messages and agents' replies are added concurrently without rewriting each other; `released_at`
becomes `ended_at`.

Revision ID: 0009_staff
Revises: 0008_standards
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009_staff"
down_revision = "0008_standards"
branch_labels = None
depends_on = None

_OPEN_HANDOFF = sa.text("status IN ('waiting', 'active')")
_OPEN_CALLBACK = sa.text("status = 'open'")


def _when(value: object) -> datetime:
    """A transcript line's time, in UTC as the app stores times (naive values are taken as UTC)."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.now(UTC)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("wecom_user_id", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("accepting", sa.Boolean(), nullable=False),
        sa.Column("failed_signins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )
    op.create_index(op.f("ix_staff_phone"), "staff", ["phone"], unique=False)
    op.create_table(
        "staff_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_staff_session_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_session_token_hash")),
    )
    op.create_index(op.f("ix_staff_session_staff_id"), "staff_session", ["staff_id"], unique=False)
    op.create_index(op.f("ix_staff_session_last_seen_at"), "staff_session", ["last_seen_at"], unique=False)

    with op.batch_alter_table("handoff") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("target", sa.String(length=16), nullable=False, server_default="queue"))
        batch.add_column(sa.Column("unavailable_reason", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("manager_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("kf_account", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("summary", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("wait_alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column("released_at", new_column_name="ended_at")
        batch.create_foreign_key(op.f("fk_handoff_agent_id_staff"), "staff", ["agent_id"], ["id"])
        batch.create_foreign_key(op.f("fk_handoff_manager_id_staff"), "staff", ["manager_id"], ["id"])

    # The JSON transcripts are read, to become lines; every hand-off gets its last change of state.
    # (The lines are written after the table is rebuilt: on SQLite, rebuilding a parent table
    # deletes the rows that refer to it.)
    conn = op.get_bind()
    handoff = sa.table(
        "handoff",
        sa.column("id", sa.Integer()),
        sa.column("transcript", sa.JSON()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("ended_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    lines: list[dict[str, object]] = []
    for row in conn.execute(sa.select(handoff.c.id, handoff.c.transcript, handoff.c.created_at, handoff.c.ended_at)):
        transcript = row.transcript if isinstance(row.transcript, list) else json.loads(row.transcript or "[]")
        lines += [
            {
                "handoff_id": row.id,
                "kind": "customer" if entry.get("from") in ("customer", "user") else "bot",
                "text": str(entry.get("text", "")),
                "at": _when(entry.get("at")),
            }
            for entry in transcript
            if isinstance(entry, dict)
        ]
        conn.execute(sa.update(handoff).where(handoff.c.id == row.id).values(updated_at=row.ended_at or row.created_at))

    with op.batch_alter_table("handoff") as batch:
        batch.drop_column("transcript")
        batch.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.alter_column("target", existing_type=sa.String(length=16), server_default=None)
    op.create_table(
        "handoff_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff.id"], name=op.f("fk_handoff_line_handoff_id_handoff")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_handoff_line_staff_id_staff")),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox_message.id"], name=op.f("fk_handoff_line_outbox_id_outbox_message")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_line")),
        sa.UniqueConstraint("handoff_id", "client_key", name=op.f("uq_handoff_line_handoff_id")),
    )
    op.create_index(op.f("ix_handoff_line_handoff_id"), "handoff_line", ["handoff_id"], unique=False)

    line = sa.table(
        "handoff_line",
        sa.column("handoff_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("text", sa.Text()),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    if lines:
        conn.execute(sa.insert(line), lines)
    op.create_index(op.f("ix_handoff_agent_id"), "handoff", ["agent_id"], unique=False)
    op.create_index(op.f("ix_handoff_updated_at"), "handoff", ["updated_at"], unique=False)
    op.create_index(
        "uq_handoff_open_sender", "handoff", ["channel", "sender_id"], unique=True,
        sqlite_where=_OPEN_HANDOFF, postgresql_where=_OPEN_HANDOFF,
    )  # fmt: skip

    op.create_table(
        "callback_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("account_no", sa.String(length=10), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("contact_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=48), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff.id"], name=op.f("fk_callback_task_handoff_id_handoff")),
        sa.ForeignKeyConstraint(["done_by_id"], ["staff.id"], name=op.f("fk_callback_task_done_by_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_task")),
    )
    op.create_index(op.f("ix_callback_task_status"), "callback_task", ["status"], unique=False)
    op.create_index(op.f("ix_callback_task_contact_deadline"), "callback_task", ["contact_deadline"], unique=False)
    op.create_index(
        "uq_callback_task_open_sender", "callback_task", ["channel", "sender_id"], unique=True,
        sqlite_where=_OPEN_CALLBACK, postgresql_where=_OPEN_CALLBACK,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("callback_task")
    op.drop_index("uq_handoff_open_sender", table_name="handoff")
    op.drop_index(op.f("ix_handoff_updated_at"), table_name="handoff")
    op.drop_index(op.f("ix_handoff_agent_id"), table_name="handoff")
    with op.batch_alter_table("handoff") as batch:
        batch.add_column(sa.Column("transcript", sa.JSON(), nullable=False, server_default="[]"))
    op.drop_table("handoff_line")
    with op.batch_alter_table("handoff") as batch:
        batch.drop_constraint(op.f("fk_handoff_manager_id_staff"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_handoff_agent_id_staff"), type_="foreignkey")
        batch.alter_column("ended_at", new_column_name="released_at")
        for name in (
            "wait_alerted_at", "updated_at", "claimed_at", "summary", "kf_account", "manager_id", "agent_id",
            "unavailable_reason", "target", "reason",
        ):  # fmt: skip
            batch.drop_column(name)
    op.drop_table("staff_session")
    op.drop_table("staff")
