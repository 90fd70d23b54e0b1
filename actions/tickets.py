"""Repair progress: the customer's open tickets in words (who, where in the timeline, deadline)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._base import BackendAction, EventList, backend, bound_accounts, entity, time_phrase
from actions.backend_client import BackendRejected

STATUS_RESPONSES = {
    "received": "utter_ticket_waiting",
    "dispatched": "utter_ticket_dispatched",
    "accepted": "utter_ticket_accepted",
    "arrived": "utter_ticket_arrived",
    "resolved": "utter_ticket_resolved",
    "closed": "utter_ticket_resolved",
}


def tell_ticket(dispatcher: CollectingDispatcher, ticket: dict[str, Any]) -> None:
    worker = ticket.get("worker") or {}
    response = STATUS_RESPONSES.get(str(ticket.get("status")), "utter_ticket_waiting")
    if response == "utter_ticket_dispatched" and not worker:
        response = "utter_ticket_waiting"
    dispatcher.utter_message(
        response=response,
        ticket_no=ticket.get("ticket_no"),
        worker_name=worker.get("name"),
        arrival_deadline=time_phrase(ticket.get("arrival_deadline")),
        restore_deadline=time_phrase(ticket.get("restore_deadline")),
    )


class ActionQueryRepairProgress(BackendAction):
    def name(self) -> str:
        return "action_query_repair_progress"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        client = backend()
        accounts = bound_accounts(tracker)
        number = entity(tracker, "ticket_no")
        if number:
            try:
                ticket = await client.ticket(number.upper())
            except BackendRejected as exc:
                if exc.status != 404:
                    raise
                ticket = {}
            if ticket.get("account_no") in accounts:
                tell_ticket(dispatcher, ticket)
            else:
                dispatcher.utter_message(response="utter_ticket_not_found", ticket_no=number)
            return []
        if not accounts:
            dispatcher.utter_message(response="utter_need_binding")
            return []
        tickets = [t for account in accounts for t in await client.open_tickets(account)]
        if not tickets:
            dispatcher.utter_message(response="utter_ticket_none_open")
            return []
        tickets.sort(key=lambda t: str(t.get("created_at") or ""), reverse=True)
        if len(tickets) > 1:
            dispatcher.utter_message(response="utter_ticket_several", count=len(tickets))
        tell_ticket(dispatcher, tickets[0])
        return []
