"""业扩 application progress, by number or for the sender's bound accounts. How to apply is a
plain response (utter_apply_connection)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._base import BackendAction, EventList, backend, bound_accounts, date_phrase, entity
from actions.backend_client import BackendRejected

STATE_RESPONSES = {
    "on_time": "utter_application_on_time",
    "at_risk": "utter_application_at_risk",
    "late": "utter_application_late",
}


def tell_application(dispatcher: CollectingDispatcher, application: dict[str, Any]) -> None:
    stages = application.get("stages") or []
    current = next((s for s in stages if s.get("name") == application.get("stage")), {})
    dispatcher.utter_message(
        response=STATE_RESPONSES.get(str(application.get("state")), "utter_application_on_time"),
        application_no=application.get("application_no"),
        stage=application.get("stage"),
        entered=date_phrase(current.get("entered_at")),
        time_limit_days=application.get("time_limit_days"),
        deadline=date_phrase(application.get("deadline")),
    )
    manager = application.get("manager") or {}
    if manager.get("name"):
        dispatcher.utter_message(
            response="utter_application_manager",
            manager_name=manager["name"],
            manager_phone=manager.get("phone"),
        )


class ActionQueryApplication(BackendAction):
    def name(self) -> str:
        return "action_query_application"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        client = backend()
        number = entity(tracker, "application_no")
        if number:
            try:
                tell_application(dispatcher, await client.application(number.upper()))
            except BackendRejected as exc:
                if exc.status != 404:
                    raise
                dispatcher.utter_message(response="utter_application_not_found", application_no=number)
            return []
        applications = [a for account in bound_accounts(tracker) for a in await client.applications(account)]
        if not applications:
            response = "utter_application_none" if bound_accounts(tracker) else "utter_ask_application_no"
            dispatcher.utter_message(response=response)
            return []
        if len(applications) == 1:
            tell_application(dispatcher, applications[0])
            return []
        numbers = "、".join(str(a.get("application_no")) for a in applications)
        dispatcher.utter_message(response="utter_application_several", count=len(applications), numbers=numbers)
        return []


APPLY_KINDS = (
    ("utter_apply_charger", ("3", "充电桩", "充电")),
    ("utter_apply_solar", ("4", "光伏", "太阳能", "分布式")),
    ("utter_apply_business", ("2", "商业", "企业", "公司", "店", "厂", "经营", "高压")),
    ("utter_apply_residential", ("1", "居民", "住宅", "家", "新房", "自建房")),
)


class ActionApplyConnection(Action):
    """How to apply: the materials for the kind named in the message, else the numbered options."""

    def name(self) -> str:
        return "action_apply_connection"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        text = str(tracker.latest_message.get("text") or "")
        digits = text.strip()
        for response, words in APPLY_KINDS:
            if digits == words[0] or any(word in text for word in words[1:]):
                dispatcher.utter_message(response=response)
                return [SlotSet("apply_choice_pending", False)]
        if tracker.get_slot("apply_choice_pending"):
            dispatcher.utter_message(response="utter_default")
            return [SlotSet("apply_choice_pending", False)]
        dispatcher.utter_message(response="utter_apply_connection")
        return [SlotSet("apply_choice_pending", True)]
