"""Repair reports: the one entry point for "the power is off" and for hazards.

Resolve the customer; if an outage in the pool covers them now, attach the report to it (the
customer is subscribed to its updates) and open no ticket; if they already have a repair ticket in
progress, the report is a reminder (催办) on that ticket; otherwise open and dispatch a ticket.
Hazards always open a ticket at top priority, linked to the covering outage if there is one.

A report is never turned away for want of a customer when the reporter said where: an address that
matches no account, or a hazard from a passer-by, opens a ticket for the dispatch centre to place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import Settings
from backend.core.errors import Invalid, NotFound
from backend.core.masking import mask_phone
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.outages import service as outages
from backend.tickets import service as tickets
from backend.tickets.models import Ticket
from backend.tickets.schemas import ComplaintCreate, RepairReportCreate, RepairReportRead, WorkerContact


def reporter(session: Session, data: RepairReportCreate) -> Customer | None:
    """The customer the report is about, their row held for a repair; None when only the dispatch
    centre can place it."""
    try:
        return customers.resolve(
            session,
            account_no=data.account_no,
            phone=data.phone,
            address=data.address,
            channel=data.channel,
            sender_id=data.sender_id,
            # Concurrent reports of one customer (different messages, so different idempotency
            # keys) must not both find no open ticket and open two: the checks run one at a time.
            # On SQLite the idempotency key inserted before this already holds the write lock.
            hold=data.kind == "repair",
        )
    except (NotFound, Invalid):
        if data.kind == "hazard" or (data.address and not data.account_no and not data.phone):
            return None
        raise


def handle_report(session: Session, settings: Settings, data: RepairReportCreate, *, actor: str) -> dict[str, Any]:
    customer = reporter(session, data)
    outage = outages.covering_now(session, customer) if customer else None
    if customer is not None and data.kind == "repair":
        if outage is not None:
            outages.subscribe(session, outage, customer)
            return RepairReportRead(outcome="attached_to_outage", outage=outages.brief(outage)).model_dump(mode="json")
        existing = tickets.open_repair_of(session, customer)
        if existing is not None:
            tickets.remind(session, existing, customer, description=data.description, actor=actor)
            return _ticket_answer(session, existing, "attached_to_ticket")
    ticket = tickets.open_ticket(
        session,
        settings,
        kind=data.kind,
        customer=customer,
        channel=data.channel,
        sender_id=data.sender_id,
        description=data.description,
        actor=actor,
        callback_phone=data.callback_phone,
        address=data.address,
        latitude=data.latitude,
        longitude=data.longitude,
        outage_id=outage.id if outage else None,
    )
    return _ticket_answer(session, ticket, "ticket_created", outage=outages.brief(outage) if outage else None)


def _ticket_answer(session: Session, ticket: Ticket, outcome: str, **extra: Any) -> dict[str, Any]:
    worker = ticket.worker
    answer = RepairReportRead(
        outcome=outcome,  # type: ignore[arg-type]
        ticket_no=ticket.ticket_no,
        status=ticket.status,
        deadline=clock.to_local(ticket.arrival_deadline),
        priority=ticket.priority,  # type: ignore[arg-type]
        worker=WorkerContact(name=worker.name, phone_masked=mask_phone(worker.phone) or "") if worker else None,
        **extra,
    )
    return answer.model_dump(mode="json")


def handle_complaint(session: Session, settings: Settings, data: ComplaintCreate, *, actor: str) -> dict[str, Any]:
    customer = None
    if data.account_no:
        customer = customers.get_customer(session, data.account_no)
    elif data.channel == "wechat":
        found = customers.find_by_openid(session, data.sender_id)
        customer = found[0] if len(found) == 1 else None
    ticket = tickets.open_ticket(
        session,
        settings,
        kind="complaint",
        customer=customer,
        channel=data.channel,
        sender_id=data.sender_id,
        description=data.description,
        actor=actor,
        callback_phone=data.callback_phone,
    )
    return tickets.read(session, ticket).model_dump(mode="json")
