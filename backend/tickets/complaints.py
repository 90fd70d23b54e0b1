"""Complaints (投诉): a ticket of its own kind, for the customer the complaint names or writes from."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.customers import service as customers
from backend.tickets import service as tickets
from backend.tickets.schemas import ComplaintCreate


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
