"""Repair reports: the one entry point for "the power is off" and for hazards.

Resolve the customer; if an outage in the pool covers them now (a suspected fault included), attach
the report to it (the customer is subscribed to its updates) and open no ticket; if they already
have a repair ticket in progress, the report is a reminder (催办) on that ticket; if it completes a
cluster of reports (研判, backend/faults), it is attached to the fault it makes; otherwise open and
dispatch a ticket (saying so when the metering system saw the customer's meter go dark).
Hazards always open a ticket at top priority, linked to the covering outage if there is one, and
the cell's supervisor is alerted at once.

A report is never turned away for want of a customer when the reporter said where: a hazard at a
spot where nobody is a customer is placed in the cell of the nearest transformer (by the reporter's
coordinates) or of the street it names, and dispatched; one that cannot be placed, and a repair
report whose address matches no account, open a ticket for the dispatch centre to place (a hazard's
alerts the duty dispatchers).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import Settings
from backend.core.errors import Invalid, NotFound
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.devices import service as devices
from backend.faults import service as faults
from backend.outages import service as outages
from backend.outages.models import Outage
from backend.repairs.schemas import RepairReportCreate, RepairReportRead
from backend.tickets import service as tickets
from backend.tickets.models import Ticket
from backend.tickets.schemas import WorkerContact
from backend.topology import service as topology


def reporter(session: Session, data: RepairReportCreate) -> Customer | None:
    """The customer the report is about, their row held for a repair; None when only the report's
    place can tell where it is."""
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
        if outage is not None and outages.subscribe(session, outage, customer):
            return _attached(outage)
        outage = None  # it left the pool meanwhile
        existing = tickets.open_repair_of(session, customer)
        if existing is not None:
            tickets.remind(session, existing, customer, description=data.description, actor=actor)
            return _ticket_answer(session, existing, "attached_to_ticket", meter_power_lost_at=_dark(session, customer))
        fault = faults.on_report(session, settings, customer)
        if fault is not None and outages.subscribe(session, fault, customer):
            return _attached(fault)
    place = _locate(session, settings, data) if customer is None and data.kind == "hazard" else None
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
        place=place,
        # the assistant's reply tells it (or, for a report it took while the backend was down, the
        # action server's message once the backend has it)
        told_in_chat=data.channel in tickets.CHAT_CHANNELS,
    )
    if data.kind == "hazard":
        tickets.alert_hazard(session, settings, ticket)
    dark_since = _dark(session, customer) if customer is not None else None
    if dark_since is not None:
        tickets.add_note(session, ticket, "meter_power_lost", f"采集系统监测到该户表计于{outages.iso(dark_since)}失电")
    brief = outages.brief(outage) if outage else None
    return _ticket_answer(session, ticket, "ticket_created", outage=brief, meter_power_lost_at=dark_since)


def _attached(outage: Outage) -> dict[str, Any]:
    return RepairReportRead(outcome="attached_to_outage", outage=outages.brief(outage)).model_dump(mode="json")


def _dark(session: Session, customer: Customer) -> Any:
    return devices.meter_dark_since(session, customer.account_no)


def _locate(session: Session, settings: Settings, data: RepairReportCreate) -> tickets.Place | None:
    """Where a hazard reported at a spot that matches no customer is: the cell of the transformer
    nearest to the reporter's coordinates, else of the street or village the address names."""
    if data.latitude is not None and data.longitude is not None:
        nearest = topology.nearest_transformer(
            session, data.latitude, data.longitude, within_km=settings.hazard_max_distance_km
        )
        if nearest is not None:
            return tickets.Place(nearest.grid_cell_id, nearest.id, faults.area_type(session, nearest.id))
    if data.address:
        neighbours = customers.on_street_of(session, data.address)
        if neighbours:
            transformer_id, _ = Counter(c.transformer_id for c in neighbours).most_common(1)[0]
            area, _ = Counter(c.area_type for c in neighbours).most_common(1)[0]
            return tickets.Place(None, transformer_id, area)
    return None


def _ticket_answer(session: Session, ticket: Ticket, outcome: str, **extra: Any) -> dict[str, Any]:
    worker = ticket.worker
    answer = RepairReportRead(
        outcome=outcome,  # type: ignore[arg-type]
        ticket_no=ticket.ticket_no,
        status=ticket.status,
        deadline=clock.to_local(ticket.arrival_deadline),
        priority=ticket.priority,  # type: ignore[arg-type]
        worker=WorkerContact(name=worker.name, phone=worker.phone or "") if worker else None,
        **extra,
    )
    return answer.model_dump(mode="json")
