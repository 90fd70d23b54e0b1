"""Outage questions: is there an outage where I live, why, until when, and planned ones coming.

The account is the one in the message (outage information is not private), else the bound one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._base import (
    SHANGHAI,
    BackendAction,
    EventList,
    backend,
    chosen_account,
    entity,
    parse_time,
    time_phrase,
)

ENDED = ("restored", "cancelled", "canceled", "closed")


class ActionQueryOutage(BackendAction):
    def name(self) -> str:
        return "action_query_outage"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        account_no = entity(tracker, "account_no") or chosen_account(tracker)
        if account_no is None:
            dispatcher.utter_message(response="utter_ask_outage_account")
            return []
        outages = await backend().outages(account_no)
        now = datetime.now(SHANGHAI)
        outages = [o for o in outages if o.get("status") not in ENDED]
        current = [o for o in outages if (parse_time(o.get("starts_at")) or now) <= now]
        upcoming = [o for o in outages if o not in current]
        if not outages:
            dispatcher.utter_message(response="utter_outage_none")
            return []
        for outage in current[:1]:
            restore = time_phrase(outage.get("estimated_restore_at"))
            response = "utter_outage_current" if restore else "utter_outage_current_no_eta"
            dispatcher.utter_message(response=response, cause=outage.get("cause"), restore_time=restore)
        upcoming.sort(key=lambda o: o.get("starts_at") or "")
        for outage in upcoming[:1]:
            dispatcher.utter_message(
                response="utter_outage_upcoming",
                cause=outage.get("cause"),
                start_time=time_phrase(outage.get("starts_at")),
                restore_time=time_phrase(outage.get("estimated_restore_at")),
            )
        if not current:
            dispatcher.utter_message(response="utter_outage_none_now")
        return []
