"""A place, as a customer names it in chat (户号, registered phone, address), and what is known of it:
the outages that cover it, and, for its owner, the repair in progress. Outage information is not
private; the customer behind the place is never told to anyone but its owner."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from backend.access import service as access
from backend.access.service import Reader
from backend.core import clock
from backend.core.errors import NotFound
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.outages import service as outages
from backend.places.schemas import OpenRepair, PlaceRead
from backend.tickets import service as tickets

_DIGITS = re.compile(r"\d+")


def hidden_numbers(address: str) -> str:
    """人民路18号3栋 → 人民路**号*栋: the street stays, the door does not."""
    return _DIGITS.sub(lambda m: "*" * len(m.group(0)), address)


def _candidates(session: Session, *, account_no: str | None, phone: str | None, address: str | None) -> list[Customer]:
    if account_no:
        try:
            return [customers.get_customer(session, account_no)]
        except NotFound:
            return []
    if phone:
        return customers.find_by_phone(session, phone)
    if address:
        return customers.find_by_address(session, address)
    return []


def lookup(
    session: Session, reader: Reader, *, account_no: str | None, phone: str | None, address: str | None
) -> PlaceRead:
    found = _candidates(session, account_no=account_no, phone=phone, address=address)
    if not found:
        return PlaceRead(found=False)
    if len({c.transformer_id for c in found}) > 1:
        return PlaceRead(found=True, ambiguous=True)
    customer = found[0]
    own = reader.sender is not None and access.owns(session, reader.sender, customer)
    covering = [outages.read(session, o, detail=False) for o in outages.covering(session, customer)]
    open_repair = None
    if own:
        ticket = tickets.open_repair_of(session, customer)
        if ticket is not None:
            open_repair = OpenRepair(
                ticket_no=ticket.ticket_no,
                status=ticket.status,
                arrival_deadline=clock.to_local(ticket.arrival_deadline),
            )
    label = customer.address if own or not reader.checked else hidden_numbers(customer.address)
    return PlaceRead(found=True, label=label, outages=covering, open_repair=open_repair)
