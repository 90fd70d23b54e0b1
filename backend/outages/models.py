"""The outage pool (停电池): every known outage and the topology it covers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base

OUTAGE_KINDS = ("planned", "temporary", "fault", "arrears", "orderly")
OPEN_STATUSES = ("announced", "active")


class Outage(Base):
    __tablename__ = "outage"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # announced|active|restored|cancelled
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    estimated_restore_at: Mapped[datetime] = mapped_column(UTCDateTime())
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped at every change of the estimate, so each change notifies once.
    estimate_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutageScope(Base):
    """One element of an outage's scope: a feeder, a transformer or a single customer."""

    __tablename__ = "outage_scope"

    id: Mapped[int] = mapped_column(primary_key=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("outage.id", ondelete="CASCADE"), index=True)
    feeder_id: Mapped[int | None] = mapped_column(ForeignKey("feeder.id"), index=True)
    transformer_id: Mapped[int | None] = mapped_column(ForeignKey("transformer.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)


class OutageSubscription(Base):
    """A customer who reported during the outage and is told of its progress."""

    __tablename__ = "outage_subscription"
    __table_args__ = (UniqueConstraint("outage_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("outage.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # index: 0008
