"""Who may read which personal data: checks passed (grants) and checks failed (attempts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base


class AccessGrant(Base):
    """A sender proved they may read a document (an account, a QX ticket, a YK application) by the
    last four digits of its registered phone; the grant lasts a short while."""

    __tablename__ = "access_grant"
    __table_args__ = (Index("ix_access_grant_sender_document", "sender", "document"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(80))
    document: Mapped[str] = mapped_column(String(14))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessAttempt(Base):
    """A failed check (`purpose` verify: phone digits; bind: a one-time code), counted per sender
    and per subject (the document or account) over the last day to lock out guessing."""

    __tablename__ = "access_attempt"
    __table_args__ = (
        Index("ix_access_attempt_sender", "purpose", "sender", "at"),
        Index("ix_access_attempt_subject", "purpose", "subject", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(14))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
