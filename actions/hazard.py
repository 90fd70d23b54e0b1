"""Hazards (fallen wire, fire, smoke, shock): safety advice first (a rule), then the location
(`hazard_form`: a shared WeChat location, an address or a description of the place), then an
urgent ticket. Slots: `hazard_description`, `hazard_location`, `hazard_latitude`, `hazard_longitude`.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import _forms
from actions._base import EventList, entity
from actions.repair import build_report, submit_report

HAZARD_SLOTS = (
    "hazard_description",
    "hazard_location",
    "hazard_latitude",
    "hazard_longitude",
    "form_failures",
    "form_paused",
    "form_stopped",
)


class ValidateHazardForm(_forms.CustomSlotsForm):
    def name(self) -> str:
        return "validate_hazard_form"

    async def extract_hazard_location(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        result: dict[str, Any] = {}
        if requested is None and not tracker.get_slot("hazard_description"):
            result["hazard_description"] = _forms.text_of(tracker)
        metadata = tracker.latest_message.get("metadata") or {}
        if metadata.get("latitude") is not None and metadata.get("longitude") is not None:
            label = metadata.get("address") or _forms.text_of(tracker)
            return result | {
                "hazard_location": label or f"{metadata['latitude']},{metadata['longitude']}",
                "hazard_latitude": metadata["latitude"],
                "hazard_longitude": metadata["longitude"],
            }
        address = entity(tracker, "address")
        if address:
            return result | {"hazard_location": address}
        if requested != "hazard_location":
            return result
        paused = _forms.resume_or_stop("hazard_location", tracker)
        if paused is not None:
            return paused
        text = _forms.text_of(tracker)
        if _forms.intent_of(tracker) in ("request_human", "goodbye", "thank"):
            return {}
        if len(text) >= 3:
            return {"hazard_location": text}
        return _forms.failure("hazard_location", "utter_invalid_hazard_location", dispatcher, tracker)


class ActionSubmitHazard(Action):
    def name(self) -> str:
        return "action_submit_hazard"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        reset = [SlotSet(slot, None) for slot in HAZARD_SLOTS]
        if tracker.get_slot("form_stopped"):
            dispatcher.utter_message(response="utter_hazard_stopped")
            return reset
        description = f"{tracker.get_slot('hazard_description') or ''}\n{tracker.get_slot('hazard_location')}"
        report = build_report(tracker, "hazard", description.strip())
        location = str(tracker.get_slot("hazard_location") or "")[:200]
        if len(location) >= 2:
            report.setdefault("address", location)  # where the danger is, kept on the ticket
        await submit_report(dispatcher, tracker, report)
        return reset
