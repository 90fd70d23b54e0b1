"""Recording conversation outcomes, and counting them for the reports."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.conversations.models import KINDS, ConversationEvent
from backend.conversations.schemas import ConversationEventCreate
from backend.core import clock
from backend.core.errors import Invalid

_TABLE: Table = ConversationEvent.__table__  # type: ignore[assignment]
_INSERT_NEW = {
    "postgresql": postgresql.insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id),
    "sqlite": sqlite.insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id),
}
#: an event reported as happening later than this from now is refused (clocks drift a little)
_FUTURE_TOLERANCE = timedelta(minutes=5)


def record(session: Session, data: ConversationEventCreate) -> bool:
    """Store the event; False when it was stored before (a retried post)."""
    now = clock.now()
    if data.at > now + _FUTURE_TOLERANCE:
        raise Invalid("事件时间不能晚于当前时间", code="event_in_future")
    row = {"sender_id": data.sender_id, "channel": data.channel, "kind": data.kind, "at": data.at, "received_at": now}
    return session.execute(_INSERT_NEW[session.get_bind().dialect.name], row).scalar() is not None


def counts(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Events of each kind in [start, end)."""
    by_kind = dict(
        session.execute(
            select(ConversationEvent.kind, func.count(ConversationEvent.id))
            .where(ConversationEvent.at >= start, ConversationEvent.at < end)
            .group_by(ConversationEvent.kind)
        ).all()
    )
    return {kind: int(by_kind.get(kind, 0)) for kind in KINDS}


def senders(session: Session, start: datetime, end: datetime, *, kind: str | None = None) -> set[tuple[str, str]]:
    """The (channel, sender id) pairs with an event (of `kind`) in [start, end)."""
    query = select(ConversationEvent.channel, ConversationEvent.sender_id).where(
        ConversationEvent.at >= start, ConversationEvent.at < end
    )
    if kind is not None:
        query = query.where(ConversationEvent.kind == kind)
    return {(channel, sender) for channel, sender in session.execute(query.distinct())}
