"""What the console's live stream shows of hand-offs: the queue, one conversation, the supervision
figures. Each comes with a cheap fingerprint, asked every second; the full state is read only when
the fingerprint moves (or every half minute, for what changes without it: the customer's tickets)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.core.errors import NotFound
from backend.handoffs import reads, service
from backend.handoffs.enums import OPEN
from backend.handoffs.models import Handoff, HandoffLine
from backend.notifications.models import OutboxMessage

OPEN_VALUES = [s.value for s in OPEN]


def queue_fingerprint(session: Session, _: str) -> Any:
    """Moves when a hand-off is queued, claimed, passed on or ended."""
    return tuple(
        session.execute(select(func.count(Handoff.id), func.max(Handoff.updated_at), func.max(Handoff.id))).one()
    )


def queue(session: Session, settings: Settings, _: str) -> Any:
    """Waiting customers in queue order, then the conversations agents hold."""
    rows = service.list_by_status(session, "waiting") + service.list_by_status(session, "active")
    return [item.model_dump(mode="json") for item in reads.queue_items(session, rows)]


def conversation_fingerprint(session: Session, handoff_id: str) -> Any:
    """Moves with a new line, a change of state, or a reply's delivery."""
    key = int(handoff_id)
    state = session.execute(
        select(Handoff.status, Handoff.agent_id, Handoff.updated_at).where(Handoff.id == key)
    ).first()
    last_line = session.scalar(select(func.max(HandoffLine.id)).where(HandoffLine.handoff_id == key))
    deliveries = session.execute(
        select(OutboxMessage.id, OutboxMessage.status)
        .join(HandoffLine, HandoffLine.outbox_id == OutboxMessage.id)
        .where(HandoffLine.handoff_id == key)
    ).all()
    return (tuple(state) if state else None, last_line, tuple(map(tuple, deliveries)))


def conversation(session: Session, settings: Settings, handoff_id: str) -> Any:
    try:
        handoff = service.get(session, int(handoff_id))
    except NotFound:
        return None
    return reads.detail(session, settings, handoff).model_dump(mode="json", by_alias=True)


def overview(session: Session, settings: Settings, _: str) -> Any:
    return reads.overview(session, settings).model_dump(mode="json")
