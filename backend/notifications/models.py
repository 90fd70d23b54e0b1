"""The outbox: every push to a customer or worker is a row here, written in the transaction of its cause."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base


class OutboxMessage(Base):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A retried cause writes the same key again and is dropped: e.g. "ticket:QX202611220001:accepted".
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    # Template key in backend/notifications/templates.py, e.g. "ticket_accepted".
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), index=True)
    # Urgent pushes (outage, hazard, restoration) ignore quiet hours.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|sent|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str | None] = mapped_column(String(16))  # wechat_cs|wechat_template|sms|wecom
    provider_msg_id: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
