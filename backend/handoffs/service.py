"""Hand-off service: one waiting hand-off per sender, its queue position and a wait estimate."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.errors import Conflict, NotFound
from backend.handoffs.models import Handoff
from backend.handoffs.schemas import HandoffCreate, HandoffRead

MINUTES_PER_CUSTOMER = 3  # average time an agent spends before taking the next in line


def request(session: Session, data: HandoffCreate) -> Handoff:
    """Queue the sender for a human agent; a sender already waiting keeps their place."""
    waiting = session.scalar(select(Handoff).where(Handoff.sender_id == data.sender_id, Handoff.status == "waiting"))
    if waiting is not None:
        return waiting
    handoff = Handoff(
        channel=data.channel,
        sender_id=data.sender_id,
        account_no=data.account_no,
        transcript=[line.model_dump(mode="json", by_alias=True) for line in data.transcript],
        status="waiting",
        created_at=clock.now(),
    )
    session.add(handoff)
    session.flush()
    return handoff


def get(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFound(f"转人工记录 {handoff_id} 不存在", code="handoff_not_found")
    return handoff


def release(session: Session, handoff_id: int) -> Handoff:
    handoff = get(session, handoff_id)
    if handoff.status != "waiting":
        raise Conflict("该转人工请求已结束", code="illegal_transition")
    handoff.status = "released"
    handoff.released_at = clock.now()
    session.flush()
    return handoff


def list_for_sender(session: Session, sender_id: str, *, active_only: bool) -> list[Handoff]:
    query = select(Handoff).where(Handoff.sender_id == sender_id).order_by(Handoff.id.desc())
    if active_only:
        query = query.where(Handoff.status == "waiting")
    return list(session.scalars(query.limit(20)))


def read(session: Session, handoff: Handoff) -> HandoffRead:
    position = None
    if handoff.status == "waiting":
        position = session.scalar(
            select(func.count(Handoff.id)).where(Handoff.status == "waiting", Handoff.id <= handoff.id)
        )
    return HandoffRead(
        id=handoff.id,
        channel=handoff.channel,
        sender_id=handoff.sender_id,
        account_no=handoff.account_no,
        status=handoff.status,
        queue_position=position,
        estimated_wait_minutes=position * MINUTES_PER_CUSTOMER if position else None,
        created_at=clock.to_local(handoff.created_at),  # type: ignore[arg-type]
    )
