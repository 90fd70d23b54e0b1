"""Connection applications (业扩报装) and the stages each went through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base

OPEN = text("completed_at IS NULL")


class Application(Base):
    __tablename__ = "application"
    # The open applications, for the periodic time-limit check (0004).
    __table_args__ = (Index("ix_application_open", "id", postgresql_where=OPEN, sqlite_where=OPEN),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_no: Mapped[str] = mapped_column(String(14), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(64))
    # residential | low_voltage | high_voltage_single | high_voltage_dual
    type: Mapped[str] = mapped_column(String(24))
    capacity_kva: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(24))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    manager_name: Mapped[str] = mapped_column(String(32))
    manager_phone: Mapped[str] = mapped_column(String(20))


class ApplicationStage(Base):
    __tablename__ = "application_stage"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(24))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
