"""Repair progress (报修进度) and the customer who presses (催办).

A bound customer's open tickets need nothing; a QX number typed by anyone else needs the phone
check (dialogue/access.py). "怎么还没人来" on an open ticket is a reminder: it goes to the worker
(the backend sends at most one per half hour) and the customer hears where things stand.
Task `ticket_no`: someone we do not know asked without a number.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from clients.backend import BackendRejected, BackendUnavailable
from dialogue import access, outage, repair
from dialogue.context import Turn
from dialogue.phrases import time_phrase
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)

STATUS_RESPONSES = {
    "received": "utter_ticket_waiting",
    "dispatched": "utter_ticket_dispatched",
    "accepted": "utter_ticket_accepted",
    "arrived": "utter_ticket_arrived",
    "resolved": "utter_ticket_resolved",
    "closed": "utter_ticket_resolved",
    "cancelled": "utter_ticket_cancelled",
    "merged": "utter_ticket_merged",
}
OPEN = ("received", "dispatched", "accepted", "arrived")


def tell(turn: Turn, ticket: dict[str, Any]) -> None:
    worker = ticket.get("worker") or {}
    response = STATUS_RESPONSES.get(str(ticket.get("status")), "utter_ticket_waiting")
    if response in ("utter_ticket_dispatched", "utter_ticket_accepted", "utter_ticket_arrived") and not worker:
        response = "utter_ticket_waiting"
    turn.say(
        response,
        ticket_no=ticket.get("ticket_no"),
        worker_name=worker.get("name") or "",
        worker_phone=worker.get("phone") or "95598",
        arrival_deadline=time_phrase(ticket.get("arrival_deadline")) or "尽快",
        restore_deadline=time_phrase(ticket.get("restore_deadline")) or "尽快",
        merged_into=ticket.get("merged_into") or "",
    )
    turn.state.set_topic("ticket", ticket_no=ticket.get("ticket_no"), account_no=ticket.get("account_no"))


async def query(turn: Turn) -> None:
    try:
        number = turn.message.ticket_no() or turn.document
        if number:
            await by_number(turn, number)
            return
        if not turn.accounts:
            turn.state.start("ticket_no", "number")
            turn.say("utter_ticket_ask_no")
            return
        tickets = await open_tickets(turn)
        if not tickets:
            turn.say("utter_ticket_none_open")
            return
        if len(tickets) > 1:
            turn.say("utter_ticket_several", count=len(tickets))
        tell(turn, tickets[0])
    except BackendUnavailable as exc:
        logger.warning("ticket lookup failed: %s", exc)
        turn.say("utter_backend_down")


async def open_tickets(turn: Turn) -> list[dict[str, Any]]:
    found = [t for a in turn.accounts for t in await turn.backend.tickets(a, open_only=True)]
    found = [t for t in found if t.get("kind") != "complaint"]
    return sorted(found, key=lambda t: str(t.get("created_at") or ""), reverse=True)


async def by_number(turn: Turn, number: str, then: str = "query_repair_progress") -> None:
    try:
        ticket = await access.guarded(turn, number, then, lambda: turn.backend.ticket(number))
    except BackendRejected as exc:
        if exc.status != 404:
            raise
        turn.say("utter_ticket_not_found", ticket_no=number)
        return
    if ticket is not None:
        tell(turn, ticket)


async def urge(turn: Turn) -> None:
    """ "能不能快点", "怎么还没人来": press the open ticket; inside an outage at home, empathy and where
    it stands; else offer to take a report."""
    try:
        tickets = await open_tickets(turn) if turn.accounts else []
    except BackendUnavailable:
        tickets = []
    if not tickets:
        topic = turn.state.topic_is("ticket")
        if topic is None:
            current = await outage.current_at_home(turn)
            if current is not None:
                turn.say("utter_urge_outage")
                outage.tell_current(turn, current)
            else:
                turn.say("utter_urge_no_ticket")
            return
        tickets = [{"ticket_no": topic.get("ticket_no"), "account_no": topic.get("account_no")}]
    ticket = tickets[0]
    if ticket.get("account_no"):
        report = {
            "channel": turn.message.channel,
            "sender_id": turn.message.sender_id,
            "account_no": ticket["account_no"],
            "description": turn.message.bare[:500] or "客户催办",
        }
        await repair.file_report(turn, report)
    else:
        turn.say("utter_urge_noted", ticket_no=ticket.get("ticket_no"))


class TicketNumber(Task):
    name = "ticket_no"
    label = "工单查询"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_ticket_ask_no")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_ticket_remind_no")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        number = turn.message.ticket_no()
        if number is None:
            if re.fullmatch(r"(?i)qx\d{0,11}|\d{12}", turn.message.bare):
                turn.say("utter_ticket_no_format")
                return True
            return False
        turn.state.finish()
        turn.answer_next("query_repair_progress", number)
        return True
