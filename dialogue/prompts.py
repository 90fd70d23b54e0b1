"""Answers to questions a push asked: 「已恢复供电…回复1已来电，2仍未来电」 and 「请为本次服务打分」.

The push went out without a conversation, so the conversation does not know it asked; the backend
does (a prompt per question pushed, `GET /prompts`). A short answer with nothing asked in the
conversation (a digit, 来电了, 还没来电, 5分) is offered to the sender's newest open prompt first:
"1" to the restore check thanks the customer and asks for the rating in the same reply; "2" opens
the customer's own ticket (their fault is behind the meter or on their branch), dispatched with
priority; a digit to the rating rates the ticket, and an unhappy one asks what went wrong.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from clients.backend import BackendError, BackendRejected
from dialogue import feedback, repair
from dialogue.context import Turn
from dialogue.phrases import time_phrase

logger = logging.getLogger(__name__)

SHORT = 10
RESTORED = re.compile(r"^(1|来电了?|有电了?|恢复了|已来电|已经来电了?|通电了|电来了|好了)[了啦的。!！]*$")
NOT_RESTORED = re.compile(
    r"^(2|还没(有)?来电|没来电|仍未来电|还是没电|还没电|没有电|没电|还没有电|依然没电)[啊呀呢。!！]*$"
)
PROMPT_CHANNELS = {"sms": "sms"}


def may_answer(turn: Turn) -> bool:
    """A message short enough to be the answer to a pushed question."""
    bare = turn.message.bare
    return 0 < len(bare) <= SHORT and bool(
        RESTORED.match(bare) or NOT_RESTORED.match(bare) or feedback.parse_score(bare) is not None
    )


async def answer(turn: Turn) -> bool:
    """Take the message as the answer to the newest question a push asked; False when there is none
    it answers (it is then understood as usual)."""
    message = turn.message
    try:
        asked = await turn.backend.prompts(PROMPT_CHANNELS.get(message.channel, "wechat"), message.sender_id)
    except BackendError as exc:
        logger.warning("the pushed questions could not be read: %s", exc)
        return False
    if not asked:
        return False
    prompt = asked[0]
    if prompt.get("kind") == "restore_check":
        return await _restore_check(turn, prompt)
    if prompt.get("kind") == "rating":
        score = feedback.parse_score(message.bare)
        return score is not None and await _rating(turn, prompt, score)
    return False


async def _restore_check(turn: Turn, prompt: dict[str, Any]) -> bool:
    bare = turn.message.bare
    restored = True if RESTORED.match(bare) else False if NOT_RESTORED.match(bare) else None
    if restored is None:
        turn.say("utter_restore_ask_again")
        return True
    result = await _post(turn, prompt, {"restored": restored})
    if result is None:
        return True
    if result.get("outcome") == "thanked":
        turn.say("utter_restore_thanks")
        return True
    ticket = result.get("ticket") or {}
    worker = ticket.get("worker") or {}
    turn.say("utter_restore_ticket", ticket_no=ticket.get("ticket_no") or "",
             deadline=time_phrase(ticket.get("deadline")) or "尽快")  # fmt: skip
    repair.tell_worker(turn, worker)
    turn.state.set_topic("ticket", ticket_no=ticket.get("ticket_no"))
    return True


async def _rating(turn: Turn, prompt: dict[str, Any], score: int) -> bool:
    if await _post(turn, prompt, {"score": score}) is None:
        return True
    if score <= feedback.UNHAPPY_MAX:
        turn.state.start("rating_followup", "text", ticket_no=prompt.get("ticket_no") or "")
        turn.say("utter_rating_unhappy")
    else:
        turn.say("utter_rating_thanks")
    return True


async def _post(turn: Turn, prompt: dict[str, Any], body: dict[str, Any]) -> dict[str, Any] | None:
    """The answer posted; None once the customer has been told why it could not be taken."""
    try:
        result: dict[str, Any] = await turn.backend.answer_prompt(int(prompt["id"]), body, turn.message.key)
    except BackendRejected as exc:
        logger.info("pushed question %s not answered: %s", prompt.get("id"), exc.code)
        turn.say("utter_prompt_already" if exc.code == "prompt_already_answered" else "utter_backend_rejected")
        return None
    except BackendError as exc:
        logger.warning("pushed question %s: backend down: %s", prompt.get("id"), exc)
        turn.say("utter_backend_down")
        return None
    return result
