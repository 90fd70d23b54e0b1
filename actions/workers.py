"""Grid workers (recognised by their WeCom id): accept (接单), arrive (到达现场), resolve with the
cause (已修复，表箱保险烧了). With one open task the ticket number may be omitted; with several
the bot lists them ("回复1 …") and remembers the step in `worker_pending_step` /
`worker_choices` (`worker_waiting` lets the rules route the answer back here)."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._base import BackendAction, EventList, backend, entity, intent_of
from actions.backend_client import BackendRejected

logger = logging.getLogger(__name__)

STEP_OF_INTENT = {"accept_task": "accept", "arrive_site": "arrive", "resolve_task": "resolve"}
# intents that answer the cause question asked after a resolution without a cause
CAUSE_ANSWER_INTENTS = ("inform", "resolve_task")
DONE_RESPONSES = {
    "accept": "utter_worker_accepted",
    "arrive": "utter_worker_arrived",
    "resolve": "utter_worker_resolved",
}
CHOICE_RE = re.compile(r"^\s*(\d{1,2})\s*$")
# a resolution message needs more than the bare "fixed" words to carry a cause
BARE_RESOLVE_RE = re.compile(r"^(已经?|都)?(修好|修复|处理好|搞定|恢复|完成|处理完|弄好)(了|啦)?[。!！.]*$")
# the ticket number a worker may put in front ("QX202611220001修好了") is no cause either
TICKET_REF_RE = re.compile(r"(工单号?)?\s*[Qq][Xx][0-9]{12}\s*[，,：:]?\s*")
MAX_CHOICES = 5


def is_bare_resolution(text: str) -> bool:
    """True for "修好了" or "QX202611220001已修复": the work is done but no cause is given."""
    return BARE_RESOLVE_RE.match(TICKET_REF_RE.sub("", text).strip()) is not None


def clear() -> EventList:
    return [
        SlotSet("worker_pending_step", None),
        SlotSet("worker_choices", None),
        SlotSet("worker_waiting", False),
    ]


class ActionWorkerTaskStep(BackendAction):
    def name(self) -> str:
        return "action_worker_task_step"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        worker_code = tracker.get_slot("worker_code")
        if tracker.get_slot("identity_kind") != "worker" or not worker_code:
            dispatcher.utter_message(response="utter_worker_only")
            return clear()
        intent = intent_of(tracker)
        text = str(tracker.latest_message.get("text") or "").strip()
        step = STEP_OF_INTENT.get(intent) or tracker.get_slot("worker_pending_step")
        if not step:
            dispatcher.utter_message(response="utter_worker_help")
            return clear()
        ticket_no = entity(tracker, "ticket_no")
        choices = list(tracker.get_slot("worker_choices") or [])
        if tracker.get_slot("worker_pending_step") == "resolve_cause" and intent in CAUSE_ANSWER_INTENTS and choices:
            # The answer to "what was the cause?" is a cause alone ("进户线断了", inform) or the cause
            # with the fix ("进户线断了，已接好", resolve_task): both resolve the ticket asked about.
            return await self._resolve_with_cause(dispatcher, worker_code, ticket_no or choices[0], text)
        choice = CHOICE_RE.match(text)
        if not ticket_no and choice and choices and 1 <= int(choice.group(1)) <= len(choices):
            ticket_no = choices[int(choice.group(1)) - 1]
        if step == "resolve_cause":
            return await self._resolve_with_cause(dispatcher, worker_code, choices[0], text)
        if not ticket_no:
            tasks = await backend().worker_tickets(worker_code)
            if not tasks:
                dispatcher.utter_message(response="utter_worker_no_tasks")
                return clear()
            if len(tasks) > 1:
                numbers = [str(t["ticket_no"]) for t in tasks[:MAX_CHOICES]]
                listing = "\n".join(f"{i}. {n}" for i, n in enumerate(numbers, start=1))
                dispatcher.utter_message(response="utter_worker_which_task", count=len(tasks), listing=listing)
                return [
                    SlotSet("worker_pending_step", step),
                    SlotSet("worker_choices", numbers),
                    SlotSet("worker_waiting", True),
                ]
            ticket_no = str(tasks[0]["ticket_no"])
        ticket_no = ticket_no.upper()
        note = text if intent == "resolve_task" else None
        if step == "resolve" and (note is None or is_bare_resolution(note)):
            return self._ask_cause(dispatcher, ticket_no)
        return await self._step(dispatcher, worker_code, ticket_no, step, note)

    @staticmethod
    def _ask_cause(dispatcher: CollectingDispatcher, ticket_no: str) -> EventList:
        dispatcher.utter_message(response="utter_worker_ask_cause", ticket_no=ticket_no)
        return [
            SlotSet("worker_pending_step", "resolve_cause"),
            SlotSet("worker_choices", [ticket_no]),
            SlotSet("worker_waiting", True),
        ]

    async def _resolve_with_cause(
        self, dispatcher: CollectingDispatcher, worker_code: str, ticket_no: str, text: str
    ) -> EventList:
        ticket_no = ticket_no.upper()
        if is_bare_resolution(text):  # "修好了" again: still no cause, ask once more
            return self._ask_cause(dispatcher, ticket_no)
        return await self._step(dispatcher, worker_code, ticket_no, "resolve", text)

    async def _step(
        self, dispatcher: CollectingDispatcher, worker_code: str, ticket_no: str, step: str, note: str | None
    ) -> EventList:
        event: dict[str, Any] = {"type": step, "worker_code": worker_code}
        if note:
            event["note"] = note
        try:
            await backend().ticket_event(ticket_no, event)
        except BackendRejected as exc:
            logger.info("worker step %s on %s refused: %s", step, ticket_no, exc.code)
            response = "utter_worker_ticket_unknown" if exc.status == 404 else "utter_worker_step_refused"
            dispatcher.utter_message(response=response, ticket_no=ticket_no)
            return clear()
        dispatcher.utter_message(response=DONE_RESPONSES[step], ticket_no=ticket_no)
        return clear()
