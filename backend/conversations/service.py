"""Recording conversation outcomes, and counting them for the reports.

Events come in batches from the action servers (`record`): a batch is one INSERT in one
transaction, and on SQLite it waits for its turn with the other writers (`WriterTurn`) before it
takes a pooled connection, so that the statistics never compete with repair reports and device
events for SQLite's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from backend.conversations.models import KINDS, ConversationEvent
from backend.conversations.schemas import ConversationEventCreate
from backend.core import clock
from backend.core.db import writer_turn
from backend.core.errors import Invalid

_TABLE: Table = ConversationEvent.__table__  # type: ignore[assignment]
_INSERT_NEW = {
    "postgresql": postgresql.insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id),
    "sqlite": sqlite.insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id),
}
#: an event reported as happening later than this from now is refused (clocks drift a little)
_FUTURE_TOLERANCE = timedelta(minutes=5)


def record(factory: sessionmaker[Session], events: Sequence[ConversationEventCreate]) -> int:
    """Store the events in one transaction; returns how many were new (a retried post, or an event
    repeated in the batch, is stored once). One event ahead of our clock refuses the whole batch
    (422 `event_in_future`, `details.index` says which) and nothing is stored."""
    now = clock.now()
    for index, event in enumerate(events):
        if event.at > now + _FUTURE_TOLERANCE:
            raise Invalid("事件时间不能晚于当前时间", code="event_in_future", details={"index": index})
    rows = [
        {"sender_id": e.sender_id, "channel": e.channel, "kind": e.kind, "at": e.at, "received_at": now} for e in events
    ]
    with factory() as session, writer_turn(session.get_bind().engine):
        statement = _INSERT_NEW[session.get_bind().dialect.name].values(rows)
        recorded = len(session.execute(statement).all())
        session.commit()
    return recorded


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
