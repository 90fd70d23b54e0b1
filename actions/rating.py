"""Satisfaction rating after a resolved ticket: 1-5 or words (满意, 不满意 …), stored on the
ticket; an unhappy rating (1-2) asks what went wrong and opens a follow-up (回访) ticket."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._base import BackendAction, EventList, backend, bound_accounts, entity
from actions.complaint import open_complaint

logger = logging.getLogger(__name__)

UNHAPPY_MAX = 2
SCORE_DIGIT = re.compile(r"(?<!\d)([1-5])(?:\s*[分星])?(?!\d)")
# checked in order: the longer phrases first
SCORE_WORDS = (
    ("非常不满意", 1),
    ("很不满意", 1),
    ("太差", 1),
    ("很差", 1),
    ("不太满意", 2),
    ("不满意", 2),
    ("不好", 2),
    ("差评", 1),
    ("一般", 3),
    ("还行", 4),
    ("还可以", 4),
    ("比较满意", 4),
    ("基本满意", 4),
    ("非常满意", 5),
    ("很满意", 5),
    ("满意", 5),
    ("好评", 5),
    ("很好", 5),
)
RATABLE = ("resolved", "closed")


def parse_score(text: str) -> int | None:
    match = SCORE_DIGIT.search(re.sub(r"QX\d+", "", text, flags=re.IGNORECASE))
    if match:
        return int(match.group(1))
    return next((score for word, score in SCORE_WORDS if word in text), None)


class ActionRateService(BackendAction):
    def name(self) -> str:
        return "action_rate_service"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        score = parse_score(str(tracker.latest_message.get("text") or ""))
        if score is None:
            dispatcher.utter_message(response="utter_ask_rating")
            return [SlotSet("rating_unhappy", False)]
        client = backend()
        ticket_no = entity(tracker, "ticket_no")
        if not ticket_no:
            tickets = [t for a in bound_accounts(tracker) for t in await client.tickets(a)]
            ratable = [t for t in tickets if t.get("status") in RATABLE and t.get("rating") is None]
            ratable.sort(key=lambda t: str(t.get("created_at") or ""), reverse=True)
            ticket_no = ratable[0]["ticket_no"] if ratable else None
        if not ticket_no:
            dispatcher.utter_message(response="utter_rating_no_ticket")
            return [SlotSet("rating_unhappy", False)]
        await client.rate_ticket(ticket_no.upper(), score)
        if score <= UNHAPPY_MAX:
            dispatcher.utter_message(response="utter_rating_unhappy")
            return [SlotSet("rating_unhappy", True), SlotSet("rating_ticket_no", ticket_no.upper())]
        dispatcher.utter_message(response="utter_rating_thanks")
        return [SlotSet("rating_unhappy", False)]


class ActionSubmitRatingFeedback(Action):
    """Takes what went wrong after an unhappy rating and opens the follow-up ticket."""

    def name(self) -> str:
        return "action_submit_rating_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        ticket_no = tracker.get_slot("rating_ticket_no")
        text = str(tracker.latest_message.get("text") or "")
        description = f"{ticket_no} 不满意回访：{text}"
        await open_complaint(dispatcher, tracker, description, "utter_rating_followup_opened")
        return [SlotSet("rating_unhappy", False), SlotSet("rating_ticket_no", None)]
