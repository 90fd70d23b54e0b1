"""Staff of the utility behind the assistant (agents, supervisors, dispatchers, customer managers,
admins) and their console sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    #: how customers and colleagues see them: "林晓", or a work number "8023号"
    name: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))  # roles.StaffRole
    #: argon2id, with its parameters (argon2-cffi's encoded form)
    password_hash: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    wecom_user_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: an agent who paused (小休) takes no new conversations and is not counted online
    accepting: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_signins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffSession(Base):
    """A signed-in console. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: sent back by the console in `X-CSRF-Token` on every change it asks for
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the last request the person made (the idle timeout counts from here)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the last sign of an open console (its live stream); presence counts from here
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: the absolute end, however active the session is
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
