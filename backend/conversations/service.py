"""Recording conversation outcomes, and counting them for the reports."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.conversations.models import ConversationEvent
from backend.conversations.schemas import ConversationEventCreate
from backend.core import clock
from backend.core.errors import Invalid

_TABLE: Table = ConversationEvent.__table__  # type: ignore[assignment]
_INSERT_NEW = {
    "postgresql": postgresql.insert(_TABLE).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(_TABLE).on_conflict_do_nothing(),
}
#: an event reported as happening later than this from now is refused (clocks drift a little)
_FUTURE_TOLERANCE = timedelta(minutes=5)


def record(session: Session, data: ConversationEventCreate) -> bool:
    """Store the event; False when it was stored before (a retried post)."""
    now = clock.now()
    if data.at > now + _FUTURE_TOLERANCE:
        raise Invalid("事件时间不能晚于当前时间", code="event_in_future")
    row = {"sender_id": data.sender_id, "channel": data.channel, "kind": data.kind, "at": data.at, "received_at": now}
    result = session.execute(_INSERT_NEW[session.get_bind().dialect.name], row)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def counts(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Events of each kind in [start, end), and the conversations (distinct senders) they belong to."""
    window = (ConversationEvent.at >= start, ConversationEvent.at < end)
    by_kind = dict(
        session.execute(
            select(ConversationEvent.kind, func.count(ConversationEvent.id))
            .where(*window)
            .group_by(ConversationEvent.kind)
        )
    )
    senders = session.scalar(
        select(func.count(func.distinct(ConversationEvent.channel + ":" + ConversationEvent.sender_id))).where(*window)
    )
    return {kind: int(by_kind.get(kind, 0)) for kind in ("fallback", "handoff", "resolved")} | {
        "conversations": int(senders or 0)
    }
