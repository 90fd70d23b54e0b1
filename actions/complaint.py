"""Complaints: take the complaint in the customer's words and open a complaint ticket with its
contact deadline. Apologise once, never argue. `complaint_form` has one slot, `complaint_text`."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import _forms
from actions._base import EventList, backend, bound_accounts, channel_of, message_key, time_phrase
from actions.backend_client import BackendRejected, BackendUnavailable

DETAILED_ENOUGH = 12


class ValidateComplaintForm(_forms.CustomSlotsForm):
    def name(self) -> str:
        return "validate_complaint_form"

    async def extract_complaint_text(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = _forms.text_of(tracker)
        requested = tracker.get_slot("requested_slot")
        if requested is None:
            return {"complaint_text": text} if len(text) >= DETAILED_ENOUGH else {}
        if requested != "complaint_text":
            return {}
        paused = _forms.resume_or_stop("complaint_text", tracker)
        if paused is not None:
            return paused
        if _forms.intent_of(tracker) in ("request_human", "goodbye"):
            return {}
        if len(text) >= 2:
            return {"complaint_text": text}
        return _forms.failure("complaint_text", "utter_invalid_complaint", dispatcher, tracker)


class ActionSubmitComplaint(Action):
    def name(self) -> str:
        return "action_submit_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        reset = [SlotSet(s, None) for s in ("complaint_text", "form_failures", "form_paused", "form_stopped")]
        if tracker.get_slot("form_stopped"):
            dispatcher.utter_message(response="utter_complaint_stopped")
            return reset
        await open_complaint(dispatcher, tracker, str(tracker.get_slot("complaint_text")), "utter_complaint_taken")
        return reset


async def open_complaint(dispatcher: CollectingDispatcher, tracker: Tracker, description: str, response: str) -> None:
    complaint: dict[str, Any] = {
        "channel": channel_of(tracker),
        "sender_id": tracker.sender_id,
        "description": description,
    }
    accounts = bound_accounts(tracker)
    if accounts:
        complaint["account_no"] = accounts[0]
    try:
        ticket = await backend().create_complaint(complaint, idempotency_key=message_key(tracker))
    except (BackendUnavailable, BackendRejected):
        dispatcher.utter_message(response="utter_complaint_backend_down")
        return
    dispatcher.utter_message(
        response=response,
        ticket_no=ticket.get("ticket_no"),
        contact_deadline=time_phrase(ticket.get("contact_deadline")),
    )
