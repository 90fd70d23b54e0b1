"""The service standards of tickets, checked periodically (`scheduled.py`):

- **arrival** (抢修到达现场: urban 45, rural 90, remote 120 min): from dispatch (the ticket's opening
  when it was dispatched at once) to `arrival_deadline`, kept until the worker arrives;
- **restoration** (恢复供电: urban 3 h, rural 4 h after arrival): from the arrival to
  `restore_deadline`, kept until the ticket is resolved;
- **complaint_contact** (24 h): from the complaint to `contact_deadline`, kept until the person it
  went to accepts it (and so takes up contact with the customer);
- **complaint_answer** (4 working days): to `answer_deadline`, kept until it is resolved (answered).

The worker (or supervisor) the ticket went to is warned; supervisors of the cell and the duty
dispatchers hear of the breach; the customer gets a new estimate (`backend/sla/service.py`).
Each function is one page of a check: tickets with ids above `after_id`, at most `limit`; it
returns the last id looked at, or None after the last page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.core.config import Settings
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.sla import service as sla
from backend.tickets import service as tickets
from backend.tickets import state
from backend.tickets.enums import TicketStatus
from backend.tickets.models import Ticket, TicketEvent
from backend.topology.models import Worker

#: nobody on site yet: the arrival deadline runs
_BEFORE_ARRIVAL = (TicketStatus.received.value, TicketStatus.dispatched.value, TicketStatus.accepted.value)

#: what the ticket's timeline says of a breach
MISSED = {
    "arrival": "到达现场",
    "restoration": "恢复供电",
    "complaint_contact": "联系客户",
    "complaint_answer": "答复客户",
}
#: complaints are answered within working days: a deadline is never further than this from its start
_LONGEST_ANSWER = timedelta(days=21)


def check_arrival(session: Session, settings: Settings, *, now: datetime, after_id: int, limit: int) -> int | None:
    minutes = (settings.arrival_minutes_urban, settings.arrival_minutes_rural, settings.arrival_minutes_remote)
    return _check(
        session,
        settings,
        "arrival",
        Ticket.arrival_deadline,
        [Ticket.kind != "complaint", Ticket.status.in_(_BEFORE_ARRIVAL)],
        longest=timedelta(minutes=max(minutes)),
        customer_template="ticket_arrival_delayed",
        now=now,
        after_id=after_id,
        limit=limit,
    )


def check_restoration(session: Session, settings: Settings, *, now: datetime, after_id: int, limit: int) -> int | None:
    return _check(
        session,
        settings,
        "restoration",
        Ticket.restore_deadline,
        [Ticket.kind != "complaint", Ticket.status == TicketStatus.arrived.value],
        longest=timedelta(hours=max(settings.restore_hours_urban, settings.restore_hours_rural)),
        customer_template="ticket_restore_delayed",
        now=now,
        after_id=after_id,
        limit=limit,
    )


def check_complaint_contact(
    session: Session, settings: Settings, *, now: datetime, after_id: int, limit: int
) -> int | None:
    return _check(
        session,
        settings,
        "complaint_contact",
        Ticket.contact_deadline,
        [Ticket.kind == "complaint", Ticket.status.in_((TicketStatus.received.value, TicketStatus.dispatched.value))],
        longest=timedelta(hours=settings.complaint_contact_hours),
        customer_template="complaint_contact_delayed",
        now=now,
        after_id=after_id,
        limit=limit,
    )


def check_complaint_answer(
    session: Session, settings: Settings, *, now: datetime, after_id: int, limit: int
) -> int | None:
    return _check(
        session,
        settings,
        "complaint_answer",
        Ticket.answer_deadline,
        [Ticket.kind == "complaint", Ticket.status.in_(state.OPEN_STATUSES)],
        longest=_LONGEST_ANSWER,
        customer_template="complaint_answer_delayed",
        now=now,
        after_id=after_id,
        limit=limit,
    )


def _check(
    session: Session,
    settings: Settings,
    standard: str,
    deadline_column: InstrumentedAttribute[datetime | None],
    open_filter: Sequence[ColumnElement[bool]],
    *,
    longest: timedelta,
    customer_template: str,
    now: datetime,
    after_id: int,
    limit: int,
) -> int | None:
    """One page of a standard's check: open tickets (by `open_filter`) whose deadline may already call
    for the warning (within the longest window's last share from now) and that have no breach
    recorded, with their customer and worker; their warnings and breaches fired."""
    query = (
        select(Ticket, Customer, Worker)
        .outerjoin(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Worker, Worker.id == Ticket.worker_id)
        .where(
            Ticket.id > after_id,
            deadline_column.is_not(None),
            deadline_column <= now + longest * (1 - settings.sla_warning_share),
            *open_filter,
            sla.not_breached(standard, Ticket.ticket_no),
        )
        .order_by(Ticket.id)
        .limit(limit)
    )
    page = list(session.execute(query))
    arrived = _arrivals(session, [ticket.id for ticket, _, _ in page]) if standard == "restoration" else {}
    promises = []
    for ticket, customer, worker in page:
        deadline = getattr(ticket, deadline_column.key)
        if standard == "arrival":
            start = ticket.dispatched_at or ticket.created_at
        else:
            start = arrived.get(ticket.id, ticket.created_at)
        promises.append(
            _promise(session, settings, standard, ticket, customer, worker, start, deadline, now, customer_template)
        )
    tickets_by_number = {ticket.ticket_no: ticket for ticket, _, _ in page}
    for promise, step in sla.enforce(session, settings, promises, now=now):
        if step == sla.BREACH:
            tickets.record_missed_deadline(
                session, tickets_by_number[promise.subject], MISSED[standard], promise.deadline, promise.new_estimate
            )
    return page[-1][0].id if len(page) == limit else None


def _arrivals(session: Session, ticket_ids: Iterable[int]) -> dict[int, datetime]:
    """When each ticket's worker arrived (its last `arrived` line)."""
    ids = list(ticket_ids)
    if not ids:
        return {}
    query = (
        select(TicketEvent.ticket_id, func.max(TicketEvent.at))
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.type == "arrived")
        .group_by(TicketEvent.ticket_id)
    )
    return {ticket_id: at for ticket_id, at in session.execute(query)}


def _promise(
    session: Session,
    settings: Settings,
    standard: str,
    ticket: Ticket,
    customer: Customer | None,
    worker: Worker | None,
    start: datetime,
    deadline: datetime,
    now: datetime,
    customer_template: str,
) -> sla.Promise:
    cell_id = customers.grid_cell_id_of(session, customer) if customer else (worker.grid_cell_id if worker else None)
    if standard == "complaint_answer":
        days = settings.complaint_answer_working_days
        estimate = sla.new_estimate_working_days(settings, now, days)
    else:
        estimate = sla.new_estimate_after(now, deadline - start, settings.sla_new_estimate_share)
    reporter = tickets.reporter_of(ticket, customer)
    return sla.Promise(
        standard=standard,
        subject=ticket.ticket_no,
        start=start,
        deadline=deadline,
        params={"number": ticket.ticket_no},
        grid_cell_id=cell_id,
        responsible={"worker_id": worker.id} if worker else None,
        responsible_name=worker.name if worker else "调度中心",
        responsible_worker_id=worker.id if worker else None,
        customer=reporter or None,
        customer_template=customer_template,
        customer_params={"ticket_no": ticket.ticket_no},
        new_estimate=estimate,
        urgent=standard in ("arrival", "restoration"),
    )
