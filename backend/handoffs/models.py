"""Hand-offs to a person (转人工): the request, its state, and every line of its conversation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base

OPEN_SQL = text("status IN ('waiting', 'active')")


class Handoff(Base):
    __tablename__ = "handoff"
    # One open hand-off per sender: a second request finds the first (it keeps its place).
    __table_args__ = (
        Index("uq_handoff_open_sender", "channel", "sender_id", unique=True,
              sqlite_where=OPEN_SQL, postgresql_where=OPEN_SQL),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(64), index=True)
    account_no: Mapped[str | None] = mapped_column(String(10))
    #: what the customer wanted, in the assistant's words (shown in the queue)
    reason: Mapped[str | None] = mapped_column(Text)
    target: Mapped[str] = mapped_column(String(16), default="queue")  # queue|manager
    status: Mapped[str] = mapped_column(String(16), index=True)  # enums.HandoffStatus
    unavailable_reason: Mapped[str | None] = mapped_column(String(32))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    #: the customer manager's staff record, when a `manager` hand-off found one
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    #: the WeChat customer-service account holding the session (kf mode)
    kf_account: Mapped[str | None] = mapped_column(String(64))
    #: the agent's one line at release, which the assistant may repeat to the customer
    summary: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the last change of state or agent (new lines do not move it)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: when the duty supervisor was told this customer waits too long
    wait_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: when the customer was told (once) that what they write now goes to the person
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HandoffLine(Base):
    """A line of the conversation (customer, bot, agent) or an event staff see in its timeline."""

    __tablename__ = "handoff_line"
    # A reply sent twice with the same key (a retried request, a double click) is one line, one push.
    __table_args__ = (UniqueConstraint("handoff_id", "client_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoff.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # enums.LineKind
    event: Mapped[str | None] = mapped_column(String(32))  # enums.Event, for kind "event"
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    #: an agent's reply: the push that carries it to the customer (its delivery status)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id"))
    client_key: Mapped[str | None] = mapped_column(String(64))
