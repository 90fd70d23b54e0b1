"""Outcomes of conversations, as the chat layer reports them (containment and fallbacks)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base

KINDS = ("fallback", "handoff", "resolved")


class ConversationEvent(Base):
    """One turn outcome: the bot did not understand (fallback), handed the conversation to a person
    (handoff), or finished what the customer came for (resolved). A repost is a duplicate."""

    __tablename__ = "conversation_event"
    __table_args__ = (UniqueConstraint("sender_id", "channel", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
