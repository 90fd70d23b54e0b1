"""Repair reports: the one entry point for "the power is off" and for hazards.

Resolve the customer; if an outage in the pool covers them now, attach the report to it (the
customer is subscribed to its updates) and open no ticket; otherwise open and dispatch a ticket.
Hazards always open a ticket at top priority, linked to the covering outage if there is one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import Settings
from backend.core.masking import mask_phone
from backend.customers import service as customers
from backend.outages import service as outages
from backend.tickets import service as tickets
from backend.tickets.schemas import ComplaintCreate, RepairReportCreate, RepairReportRead, WorkerContact
from backend.topology.models import Worker


def handle_report(session: Session, settings: Settings, data: RepairReportCreate, *, actor: str) -> dict[str, Any]:
    customer = customers.resolve(
        session,
        account_no=data.account_no,
        phone=data.phone,
        address=data.address,
        channel=data.channel,
        sender_id=data.sender_id,
    )
    outage = outages.covering_now(session, customer)
    if outage is not None and data.kind == "repair":
        outages.subscribe(session, outage, customer)
        answer = RepairReportRead(outcome="attached_to_outage", outage=outages.brief(outage))
        return answer.model_dump(mode="json")
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
        latitude=data.latitude,
        longitude=data.longitude,
        outage_id=outage.id if outage else None,
    )
    worker = session.get(Worker, ticket.worker_id) if ticket.worker_id else None
    answer = RepairReportRead(
        outcome="ticket_created",
        ticket_no=ticket.ticket_no,
        outage=outages.brief(outage) if outage else None,
        deadline=clock.to_local(ticket.arrival_deadline),
        priority=ticket.priority,  # type: ignore[arg-type]
        worker=WorkerContact(name=worker.name, phone_masked=mask_phone(worker.phone) or "") if worker else None,
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
