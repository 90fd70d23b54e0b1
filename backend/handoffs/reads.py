"""What the API shows of hand-offs: the answer to a request, queue items, a conversation with its
delivery statuses, the customer's records beside it, and the supervision figures."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.applications import service as applications
from backend.billing import service as billing
from backend.core import clock
from backend.core.config import Settings
from backend.core.masking import mask_account, mask_phone
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.handoffs import queue
from backend.handoffs.enums import HandoffStatus, LineKind
from backend.handoffs.models import Handoff
from backend.handoffs.schemas import (
    AgentLoad,
    AgentRead,
    CustomerContext,
    CustomerPanel,
    HandoffCreated,
    HandoffItem,
    HandoffRead,
    ManagerContact,
    Overview,
    PanelApplication,
    PanelBill,
    PanelCustomer,
    PanelOutage,
    PanelTicket,
    TimelineRead,
    TranscriptRead,
)
from backend.handoffs.service import Requested, customers_of, lines
from backend.notifications.models import OutboxMessage
from backend.outages import service as outages
from backend.staff import service as staff
from backend.staff.roles import AGENT_ROLES
from backend.tickets import service as tickets

DELIVERY = {"pending": "pending", "sent": "sent", "dead": "failed", "cancelled": "failed"}
PANEL_TICKETS, PANEL_BILL_MONTHS = 5, 3


def _local(moment: datetime | None) -> datetime | None:
    return clock.to_local(moment)


def created(session: Session, settings: Settings, requested: Requested) -> HandoffCreated:
    handoff = requested.handoff
    place = queue.position(session, handoff)
    return HandoffCreated(
        id=handoff.id,
        status=handoff.status,  # type: ignore[arg-type]
        queue_position=place,
        estimated_wait_minutes=queue.estimate_minutes(place, queue.capacity(session, settings)) if place else None,
        agents_online=requested.agents_online,
        unavailable_reason=handoff.unavailable_reason,  # type: ignore[arg-type]
        manager=_manager(session, handoff),
    )


def _manager(session: Session, handoff: Handoff) -> ManagerContact | None:
    if handoff.status != HandoffStatus.manager.value or not handoff.account_no:
        return None
    customer = customers.get_customer(session, handoff.account_no)
    return ManagerContact(name=customer.manager_name or "", phone_masked=mask_phone(customer.manager_phone) or "")


def _agent(session: Session, handoff: Handoff) -> AgentRead | None:
    return None if handoff.agent_id is None else _agent_by_id(session, handoff.agent_id)


def _agent_by_id(session: Session, staff_id: int) -> AgentRead:
    person = staff.staff_by_id(session, staff_id)
    return AgentRead(username=person.username, name=person.name)


def item(session: Session, handoff: Handoff) -> HandoffItem:
    return _item(handoff, _agent(session, handoff), queue.position(session, handoff), None)


def queue_items(session: Session, handoffs: list[Handoff]) -> list[HandoffItem]:
    """Hand-offs as the queue shows them, each with its customer, in a few queries however long
    the queue: the consoles read it again whenever it moves (a customer queued, claimed, handed
    back), which during a busy evening is every second. The places come from one read of the
    line, each agent is read once, and each customer's records (`context`) are kept for
    `CONTEXT_SECONDS`."""
    places = {key: place for place, key in enumerate(queue.waiting_ids(session), start=1)}
    agents = {key: _agent_by_id(session, key) for key in {h.agent_id for h in handoffs if h.agent_id is not None}}
    now = time.monotonic()
    for key in [key for key, (read_at, _) in _contexts.items() if now - read_at >= CONTEXT_SECONDS]:
        _contexts.pop(key, None)
    return [
        _item(
            handoff,
            agents.get(handoff.agent_id) if handoff.agent_id else None,
            places.get(handoff.id),
            _context(session, handoff, now),
        )
        for handoff in handoffs
    ]


def _item(
    handoff: Handoff, agent: AgentRead | None, place: int | None, customer: CustomerContext | None
) -> HandoffItem:
    return HandoffItem(
        id=handoff.id,
        sender_id=handoff.sender_id,
        channel=handoff.channel,
        status=handoff.status,
        target=handoff.target,
        waiting_since=_local(handoff.created_at),  # type: ignore[arg-type]
        reason=handoff.reason,
        account_masked=mask_account(handoff.account_no),
        agent=agent,
        kf_account=handoff.kf_account,
        queue_position=place,
        updated_at=_local(handoff.updated_at),  # type: ignore[arg-type]
        customer=customer,
    )


#: how long a queued customer's records (open tickets, outages) are shown as last read; the
#: conversation's own panel (`panel`) always reads them afresh
CONTEXT_SECONDS = 30.0
_contexts: dict[tuple[int, datetime], tuple[float, CustomerContext]] = {}


def _context(session: Session, handoff: Handoff, now: float) -> CustomerContext:
    key = (handoff.id, handoff.created_at)  # an id alone may name another database's hand-off (tests)
    kept = _contexts.get(key)
    if kept is not None:
        return kept[1]
    found = context(session, handoff)
    _contexts[key] = (now, found)
    return found


def detail(session: Session, settings: Settings, handoff: Handoff) -> HandoffRead:
    base = item(session, handoff)
    place = base.queue_position
    rows = lines(session, handoff.id)
    outbox_ids = [r.outbox_id for r in rows if r.outbox_id is not None]
    pushes = (
        {p.id: p for p in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids)))}
        if outbox_ids
        else {}
    )
    names = staff.names(session, {r.staff_id for r in rows if r.staff_id is not None})
    transcript, timeline = [], []
    for row in rows:
        if row.kind == LineKind.event.value:
            by = names.get(row.staff_id) if row.staff_id else None
            timeline.append(TimelineRead(event=row.event or "", at=_local(row.at), by=by, note=row.text))  # type: ignore[arg-type]
            continue
        push = pushes.get(row.outbox_id) if row.outbox_id else None
        transcript.append(
            TranscriptRead(
                sender=row.kind,  # type: ignore[arg-type]
                text=row.text,
                at=_local(row.at),  # type: ignore[arg-type]
                agent=names.get(row.staff_id) if row.staff_id else None,
                delivery=DELIVERY.get(push.status) if push else None,  # type: ignore[arg-type]
                delivery_channel=push.channel if push and push.status == "sent" else None,
            )
        )
    return HandoffRead(
        **base.model_dump(),
        estimated_wait_minutes=queue.estimate_minutes(place, queue.capacity(session, settings)) if place else None,
        unavailable_reason=handoff.unavailable_reason,
        summary=handoff.summary,
        claimed_at=_local(handoff.claimed_at),
        ended_at=_local(handoff.ended_at),
        manager=_manager(session, handoff),
        transcript=transcript,
        timeline=timeline,
    )


def context(session: Session, handoff: Handoff) -> CustomerContext:
    found = customers_of(session, handoff)
    open_tickets = [t.ticket_no for c in found for t in tickets.list_for_customer(session, c, open_only=True)]
    return CustomerContext(
        name=found[0].name if found else None,
        accounts_masked=[mask_account(c.account_no) or "" for c in found],
        open_tickets=open_tickets,
        outages=_outages(session, found),
    )


def _outages(session: Session, found: list[Customer]) -> list[PanelOutage]:
    seen: dict[int, PanelOutage] = {}
    for customer in found:
        for outage in outages.covering(session, customer):
            brief = outages.brief(outage)
            seen[outage.id] = PanelOutage(
                kind=brief.kind,
                cause=brief.cause,
                starts_at=brief.starts_at,
                estimated_restore_at=brief.estimated_restore_at,
            )
    return list(seen.values())


def panel(session: Session, settings: Settings, handoff: Handoff) -> CustomerPanel:
    found = customers_of(session, handoff)
    today = clock.local_today()
    recent = sorted(
        (t for c in found for t in tickets.list_for_customer(session, c, open_only=False)),
        key=lambda t: t.created_at,
        reverse=True,
    )[:PANEL_TICKETS]
    bills = [(c, billing.read(row, today)) for c in found for row in billing.bills_of(session, c, PANEL_BILL_MONTHS)]
    apps = [applications.read(session, settings, a) for c in found for a in applications.list_for_customer(session, c)]
    return CustomerPanel(
        customers=[
            PanelCustomer(
                name=c.name,
                account_masked=mask_account(c.account_no) or "",
                address=c.address,
                phone_masked=mask_phone(c.phone) or "",
                customer_type=c.customer_type,
            )
            for c in found
        ],
        tickets=[
            PanelTicket(
                ticket_no=t.ticket_no,
                kind=t.kind,
                status=t.status,
                created_at=_local(t.created_at),  # type: ignore[arg-type]
                description=t.description,
                worker_name=t.worker.name if t.worker else None,
            )
            for t in recent
        ],
        bills=[
            PanelBill(
                account_masked=mask_account(c.account_no) or "",
                period=b.period,
                kwh=b.kwh,
                amount=b.amount,
                paid=b.paid,
                arrears=b.arrears,
            )
            for c, b in bills
        ],
        applications=[
            PanelApplication(
                application_no=a.application_no, stage_label=a.stage_label, state=a.state, deadline=a.deadline
            )
            for a in apps
            if a.completed_at is None
        ],
        outages=_outages(session, found),
    )


def overview(session: Session, settings: Settings) -> Overview:
    online = staff.online(session, settings, roles=AGENT_ROLES)
    held = dict(
        session.execute(
            select(Handoff.agent_id, func.count(Handoff.id))
            .where(Handoff.status == HandoffStatus.active.value, Handoff.agent_id.is_not(None))
            .group_by(Handoff.agent_id)
        ).all()
    )
    now = clock.now()
    waiting = session.scalars(
        select(Handoff.created_at).where(Handoff.status == HandoffStatus.waiting.value).order_by(Handoff.id)
    ).all()
    waits = [int((now - since).total_seconds()) for since in waiting]
    active = sum(held.values()) + int(
        session.scalar(
            select(func.count(Handoff.id)).where(
                Handoff.status == HandoffStatus.active.value, Handoff.agent_id.is_(None)
            )
        )
        or 0
    )
    return Overview(
        agents_online=len([s for s in online if s.accepting]),
        agents=[
            AgentLoad(
                username=s.username, name=s.name, role=s.role, accepting=s.accepting, conversations=held.get(s.id, 0)
            )
            for s in online
        ],
        waiting=len(waits),
        active=active,
        longest_wait_seconds=max(waits) if waits else None,
        average_handle_minutes=round(queue.recent_handle_minutes(session, settings), 1),
        waits=waits,
        alert_after_minutes=settings.handoff_wait_alert_minutes,
    )
