"""Small talk that needs a look at the message: words the NLU could not place, emoji-only
messages, other utilities (gas, water), and clearing a form's slots when it is abandoned."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._base import EventList
from actions.hazard import HAZARD_SLOTS
from actions.repair import REPORT_SLOTS
from connectors.text import is_emoji_only

OTHER_UTILITY_WORDS = (
    "燃气",
    "煤气",
    "天然气",
    "液化气",
    "停气",
    "水费",
    "停水",
    "自来水",
    "水管",
    "水压",
    "热水",
)
FORM_SLOTS = (*REPORT_SLOTS, *HAZARD_SLOTS, "complaint_text", "bind_account_no", "bind_phone_last4")


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        metadata = tracker.latest_message.get("metadata") or {}
        text = str(tracker.latest_message.get("text") or "")
        if metadata.get("emoji_only") or is_emoji_only(text):
            dispatcher.utter_message(response="utter_emoji_only")
        else:
            dispatcher.utter_message(response="utter_default")
        return []


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        text = str(tracker.latest_message.get("text") or "")
        other_utility = any(word in text for word in OTHER_UTILITY_WORDS)
        dispatcher.utter_message(response="utter_other_utility" if other_utility else "utter_out_of_scope")
        return []


class ActionResetForms(Action):
    """Clears every form slot after a form was left for good (goodbye, handoff, hazard)."""

    def name(self) -> str:
        return "action_reset_forms"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        return [SlotSet(slot, None) for slot in dict.fromkeys(FORM_SLOTS) if tracker.get_slot(slot) is not None]
