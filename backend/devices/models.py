"""Events of the metering (用电信息采集) and distribution-automation systems, and the power state
they leave each device in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base
from backend.devices.enums import DeviceEventStatus

KINDS = ("power_lost", "power_restored")
SCOPES = ("meter", "transformer", "feeder")


class DeviceEvent(Base):
    """One event as the system sent it: stored when it is received, applied after the answer."""

    __tablename__ = "device_event"
    __table_args__ = (
        Index("ix_device_event_pending", "occurred_at", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    # The sending system's id of the event: a second event with the same id is the same event.
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # power_lost|power_restored
    scope: Mapped[str] = mapped_column(String(16))  # meter|transformer|feeder
    code: Mapped[str] = mapped_column(String(32))  # the account number for a meter
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # enums.DeviceEventStatus: pending → processing → applied | ignored | failed
    status: Mapped[str] = mapped_column(String(16), default=DeviceEventStatus.pending.value)
    note: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeviceState(Base):
    """The last loss and the last restoration known of a device, by the time they happened."""

    __tablename__ = "device_state"
    __table_args__ = (UniqueConstraint("scope", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(32))
    # A meter's or a transformer's transformer: many dark meters of one transformer count as it.
    transformer_id: Mapped[int | None] = mapped_column(ForeignKey("transformer.id"), index=True)
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
