"""Service-standard events: each warning before a breach, and each breach, recorded once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base


class SlaEvent(Base):
    """A standard's warning or breach for one subject (and 业扩 stage): written with its pushes, in the
    same transaction; the unique key makes it fire once however many notifiers run the checks."""

    __tablename__ = "sla_event"
    __table_args__ = (
        UniqueConstraint("standard", "subject", "stage", "step"),
        Index("ix_sla_event_step_at", "step", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # arrival | restoration | complaint_contact | complaint_answer | application_stage | outage_notice
    standard: Mapped[str] = mapped_column(String(24))
    # The ticket (QX…) or application (YK…) number, or "outage:<id>"
    subject: Mapped[str] = mapped_column(String(32))
    # The 业扩 stage for application_stage, "" otherwise
    stage: Mapped[str] = mapped_column(String(24), default="")
    step: Mapped[str] = mapped_column(String(8))  # warning | breach
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    grid_cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cell.id"))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
