"""Callback tasks (回电): a person calls the customer back by a deadline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base

OPEN_SQL = text("status = 'open'")


class CallbackTask(Base):
    __tablename__ = "callback_task"
    # One open task per sender: asking again finds the first.
    __table_args__ = (
        Index("uq_callback_task_open_sender", "channel", "sender_id", unique=True,
              sqlite_where=OPEN_SQL, postgresql_where=OPEN_SQL),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(64))
    account_no: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoff.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)  # enums.CallbackStatus
    contact_deadline: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(48))  # "assistant" or "staff:<username>"
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str | None] = mapped_column(Text)
