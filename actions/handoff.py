"""Human handoff (转人工): record the request with the conversation so far, tell the honest wait
and the 95598 hotline, then stay quiet (`handoff_form`, whose question is silent) until an agent
releases the conversation in the backend."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._base import EventList, backend, bound_accounts, channel_of
from actions.backend_client import BackendError

logger = logging.getLogger(__name__)

TRANSCRIPT_TURNS = 30


def transcript(tracker: Tracker) -> list[dict[str, Any]]:
    lines = []
    for event in tracker.events:
        if event.get("event") not in ("user", "bot") or not event.get("text"):
            continue
        stamp = event.get("timestamp")
        moment = datetime.fromtimestamp(float(stamp), timezone.utc) if stamp else datetime.now(timezone.utc)
        at = moment.isoformat()
        lines.append({"from": "customer" if event["event"] == "user" else "bot", "text": event["text"], "at": at})
    return lines[-TRANSCRIPT_TURNS:]


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        handoff: dict[str, Any] = {
            "channel": channel_of(tracker),
            "sender_id": tracker.sender_id,
            "transcript": transcript(tracker),
        }
        accounts = bound_accounts(tracker)
        if accounts:
            handoff["account_no"] = accounts[0]
        try:
            result = await backend().create_handoff(handoff)
        except BackendError as exc:
            logger.warning("handoff request failed: %s", exc)
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return [SlotSet("handoff_active", False)]
        dispatcher.utter_message(
            response="utter_handoff_queued",
            queue_position=result.get("queue_position"),
            wait_minutes=result.get("estimated_wait_minutes"),
        )
        return [SlotSet("handoff_active", True), SlotSet("handoff_released", None)]


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> str:
        return "validate_handoff_form"

    async def extract_handoff_released(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "handoff_released":
            return {}
        try:
            active = await backend().active_handoffs(tracker.sender_id)
        except BackendError as exc:
            logger.warning("handoff check failed, staying quiet: %s", exc)
            return {"handoff_released": None}
        return {"handoff_released": True} if not active else {"handoff_released": None}


class ActionAskHandoffReleased(Action):
    """The form's question is silence: the human agent is talking to the customer."""

    def name(self) -> str:
        return "action_ask_handoff_released"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        return []


class ActionHandoffEnded(Action):
    def name(self) -> str:
        return "action_handoff_ended"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        dispatcher.utter_message(response="utter_handoff_ended")
        return [SlotSet("handoff_active", False), SlotSet("handoff_released", None)]
