"""Tickets (抢修/投诉工单), their timeline and photos."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.clock import UTCDateTime
from backend.core.db import Base
from backend.topology.models import Worker


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (Index("ix_ticket_worker_status", "worker_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(14), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # repair|hazard|complaint|fault (one per fault outage)
    priority: Mapped[str] = mapped_column(String(8))  # urgent|high|normal
    status: Mapped[str] = mapped_column(String(16), index=True)  # enums.TicketStatus
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(64))
    callback_phone: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(200))  # as the reporter said it
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    outage_id: Mapped[int | None] = mapped_column(ForeignKey("outage.id"))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    backup_worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    arrival_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    restore_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contact_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Status `merged`: the fault ticket this report was absorbed into (研判).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)

    worker: Mapped[Worker | None] = relationship(foreign_keys=[worker_id])


class TicketEvent(Base):
    """One line of a ticket's timeline: who did what, when."""

    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class TicketPhoto(Base):
    __tablename__ = "ticket_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    media_id: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str | None] = mapped_column(String(500))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
