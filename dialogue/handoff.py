"""A person behind the bot (转人工): the request with the conversation so far, an honest wait, the
customer's messages passed on while they wait (acknowledged once), a callback when nobody is on
duty, and "不用了" to go back to the assistant. A business customer's "客户经理" goes to their own
manager. When the agent releases the conversation (the backend tells the customer so, with the
agent's summary), the next message is the assistant's again.

While the hand-off is the task on the table, the channels pass most messages to the person
without a turn of the assistant (bot_runtime/handoff_relay.py): `relayed_to` tells them which
hand-off, `passes_straight` which messages. What the assistant must read itself (cancel, restart,
danger) and anything a channel could not pass on come here.

Task `handoff`: step `waiting`; field `handoff_id`. Task `callback`: step `offer`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from clients.backend import BackendError, BackendRejected, BackendUnavailable
from dialogue.context import Turn
from dialogue.meaning import HAZARD
from dialogue.message import Message
from dialogue.phrases import time_phrase
from dialogue.state import State
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)

#: the key of the reply's custom payload naming the hand-off that has the conversation
RELAY_PAYLOAD = "handoff_id"
#: a hand-off carries at most this many lines of the conversation, the latest (backend/handoffs/schemas.py)
TRANSCRIPT_LINES = 200


def relayed_to(state: State) -> int | None:
    """The hand-off whose person takes the customer's next messages: the task on the table."""
    task = state.task
    if task is None or task["name"] != "handoff" or not isinstance(task.get("handoff_id"), int):
        return None
    return int(task["handoff_id"])


def passes_straight(message: Message) -> bool:
    """True when a message written during a hand-off can go to the person without the assistant
    reading it: words, and not "不用了" (cancel), "继续报修", a restart, or anything that sounds like
    danger (the assistant takes a hazard report at once, whoever has the conversation)."""
    bare = message.bare
    return bool(
        bare
        and not message.emoji_only
        and not message.is_cancel()
        and not message.is_continue()
        and not message.is_restart()
        and not HAZARD.search(message.text)
    )


def transcript(turn: Turn, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation before this message, then this message: its last `TRANSCRIPT_LINES` lines."""
    lines = list(history)
    lines.append({"from": "customer", "text": turn.message.bare, "at": datetime.now(timezone.utc).isoformat()})
    return lines[-TRANSCRIPT_LINES:]


async def request(turn: Turn, target: str = "queue") -> None:
    handoff: dict[str, Any] = {
        "channel": turn.message.channel,
        "sender_id": turn.message.sender_id,
        "reason": turn.message.bare[:200],
        "transcript": transcript(turn, await turn.history()),
        "target": target,
    }
    if turn.accounts:
        handoff["account_no"] = turn.accounts[0]
    try:
        result = await turn.backend.create_handoff(handoff)
    except BackendError as exc:
        logger.warning("handoff request failed: %s", exc)
        turn.say("utter_handoff_failed")
        return
    status = result.get("status", "waiting")
    if status == "manager":
        manager = result.get("manager") or {}
        turn.say(
            "utter_handoff_manager",
            manager_name=manager.get("name") or "",
            manager_phone=manager.get("phone_masked") or "",
        )
        return
    if status == "unavailable":
        reason = result.get("unavailable_reason")
        turn.say("utter_handoff_outside_hours" if reason == "outside_hours" else "utter_handoff_no_agent")
        turn.state.start("callback", "offer")
        return
    turn.state.start("handoff", "waiting", handoff_id=result.get("id"))
    turn.say(
        "utter_handoff_queued",
        queue_position=result.get("queue_position") or 1,
        wait_minutes=result.get("estimated_wait_minutes") or 1,
    )


class Handoff(Task):
    """While a person has (or will have) the conversation, every message is theirs."""

    name = "handoff"
    label = "人工服务"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_handoff_waiting")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_handoff_waiting")

    async def cancel(self, turn: Turn, task: TaskData) -> None:
        try:
            await turn.backend.cancel_handoff(task["handoff_id"])
        except BackendError as exc:
            logger.warning("handoff cancel failed: %s", exc)
        turn.say("utter_handoff_cancelled")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        try:
            at = datetime.now(timezone.utc).isoformat()
            result = await turn.backend.handoff_message(task["handoff_id"], turn.message.bare, at)
        except BackendUnavailable as exc:
            logger.warning("a message for the agent could not be passed on: %s", exc)
            turn.say("utter_handoff_relay_failed")
            return True
        except BackendRejected as exc:
            logger.info("handoff %s no longer takes messages: %s", task["handoff_id"], exc.code)
            result = {"status": "closed"}
        if result.get("status") not in ("waiting", "active"):
            turn.state.finish()  # the person left (and the backend said so): the assistant answers
            return False
        if result.get("acknowledge"):
            turn.say("utter_handoff_passed_on")
        return True


class Callback(Task):
    """Nobody can take the conversation now: offer that someone calls back."""

    name = "callback"
    label = "预约回电"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_callback_offer")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_callback_offer")

    async def cancel(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_callback_declined")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        message = turn.message
        phone = message.phone() or (message.sender_id if message.channel == "sms" else None)
        answer = message.yes_no()
        if answer is False:
            turn.state.finish()
            await self.cancel(turn, task)
            return True
        if phone is None:
            if answer is True:
                turn.say("utter_callback_ask_phone")
                return True
            return False
        turn.state.finish()
        body: dict[str, Any] = {
            "channel": message.channel,
            "sender_id": message.sender_id,
            "phone": phone,
            "reason": "转人工无人接听，预约回电",
        }
        if turn.accounts:
            body["account_no"] = turn.accounts[0]
        try:
            result = await turn.backend.create_callback(body)
        except BackendError as exc:
            logger.warning("callback request failed: %s", exc)
            turn.say("utter_handoff_failed")
            return True
        turn.say("utter_callback_booked", deadline=time_phrase(result.get("contact_deadline")) or "尽快")
        return True
