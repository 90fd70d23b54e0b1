"""Helpers for the forms' custom slot extraction.

Form slots use `type: custom` mappings and are filled by `extract_<slot>` methods, so that:

- an answer the bot cannot use sets the slot to None (the form asks again) and counts a failure;
  after `MAX_FAILURES` the form says it still cannot use the answer and that 回复2 ends it, and
  asks its question again (the question says what it needs);
- an intent of another topic (`SWITCH_INTENTS`) returns nothing, the form is rejected and the
  rules answer that question, then bring the form back;
- a "no" where no yes/no was asked (不用了, 回复2 after the explanation) sets `form_stopped`; the
  validation's `required_slots` then becomes empty, the form ends and the submit action says so.

Domain setup: slots `form_failures` (float), `form_paused` and `form_stopped` (bool), response
`utter_form_explain`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._base import intent_of

MAX_FAILURES = 2

SWITCH_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "query_outage",
        "query_repair_progress",
        "query_application",
        "apply_connection",
        "query_bill",
        "explain_bill",
        "payment_methods",
        "contact_grid_worker",
        "complaint",
        "rate_service",
        "request_human",
        "bot_challenge",
        "report_hazard",
    }
)

YES_WORDS = frozenset({"1", "是", "是的", "对", "对的", "确认", "好", "好的", "嗯", "可以", "没错"})
NO_WORDS = frozenset({"2", "不", "不是", "否", "取消", "不用", "算了", "不对"})


def text_of(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "").strip()


def yes_no(tracker: Tracker) -> bool | None:
    """True for a yes (affirm, 1, 是), False for a no (deny, 2, 不是), else None."""
    text = text_of(tracker).rstrip("。.!！")
    if text in YES_WORDS:
        return True
    if text in NO_WORDS:
        return False
    intent = intent_of(tracker)
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    return None


def is_topic_switch(tracker: Tracker) -> bool:
    return intent_of(tracker) in SWITCH_INTENTS and yes_no(tracker) is None


def failure(
    slot: str, response: str, dispatcher: CollectingDispatcher, tracker: Tracker, **kwargs: Any
) -> dict[str, Any]:
    """Count an unusable answer: re-ask, or after `MAX_FAILURES` explain and ask whether to go on."""
    failures = int(tracker.get_slot("form_failures") or 0) + 1
    if failures >= MAX_FAILURES:
        dispatcher.utter_message(response="utter_form_explain")
        return {slot: None, "form_failures": 0, "form_paused": True}
    dispatcher.utter_message(response=response, **kwargs)
    return {slot: None, "form_failures": failures}


STOP = {"form_stopped": True, "form_paused": False, "form_failures": 0}


def resume_or_stop(slot: str, tracker: Tracker) -> dict[str, Any] | None:
    """A no (while paused, or a plain 不用了) stops the form; a yes while paused resumes it."""
    answer = yes_no(tracker)
    paused = bool(tracker.get_slot("form_paused"))
    if answer is False and (paused or intent_of(tracker) == "deny"):
        return {slot: None, **STOP}
    if answer is True and paused:
        return {slot: None, "form_paused": False}
    return None


def active_slots(domain_slots: list[str], tracker: Tracker) -> list[str]:
    """The form's required slots, or none once the customer stopped it."""
    return [] if tracker.slots.get("form_stopped") else domain_slots


class CustomSlotsForm(FormValidationAction, ABC):
    """A form validation whose `extract_<slot>` methods may also set helper slots outside the form
    (`form_failures`, `report_account_no`, ...). rasa_sdk keeps only the form's own slots from the
    validation step, so the extraction events are returned as well."""

    @abstractmethod
    def name(self) -> str: ...

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        return active_slots(domain_slots, tracker)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        extraction_events = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extraction_events)
        validation_events = await self._extract_validation_events(dispatcher, tracker, domain)
        validated = {event["name"] for event in validation_events if event.get("event") == "slot"}
        kept = [event for event in extraction_events if event["name"] not in validated]
        return kept + validation_events
