"""Personal data behind a check: the backend answers bills, tickets and applications only to the
sender who owns the account, or who typed the document's number and proved it with the last four
digits of its registered phone (attempts limited by the backend). This module asks for those
digits when the backend says so, and redoes the question once they match.

Task `verify`: step `last4`; fields `document` (an account, QX or YK number) and `then` (the
meaning to answer again, with `document`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from clients.backend import BackendRejected, BackendUnavailable
from dialogue.context import Turn
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)

T = TypeVar("T")
LAST4_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")
NEEDS_CHECK = "verification_required"


async def guarded(turn: Turn, document: str, then: str, fetch: Callable[[], Awaitable[T]]) -> T | None:
    """`fetch()`, or None after asking for the check when the backend wants one."""
    try:
        return await fetch()
    except BackendRejected as exc:
        if exc.code != NEEDS_CHECK:
            raise
    turn.state.start("verify", "last4", document=document, then=then)
    turn.say("utter_verify_ask_last4", document=spoken(document))
    return None


def spoken(document: str) -> str:
    if document.startswith("QX"):
        return f"工单{document}"
    if document.startswith("YK"):
        return f"申请{document}"
    return f"户号{document[:2]}******{document[-2:]}"


class Verify(Task):
    name = "verify"
    label = "身份核验"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_verify_ask_last4", document=spoken(task["document"]))

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_verify_remind")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        match = LAST4_RE.search(turn.message.bare)
        if match is None or len(turn.message.bare) > 12:
            return False
        try:
            await turn.backend.verify(task["document"], match.group(0))
        except BackendUnavailable as exc:
            logger.warning("verification failed, backend unavailable: %s", exc)
            turn.say("utter_backend_down")
            return True
        except BackendRejected as exc:
            return self._refused(turn, exc)
        turn.state.finish()
        turn.answer_next(task["then"], task["document"])
        return True

    def _refused(self, turn: Turn, exc: BackendRejected) -> bool:
        details: dict[str, Any] = exc.details
        if exc.code == "verification_locked":
            turn.state.finish()
            turn.say("utter_verify_locked")
        elif details.get("attempts_left"):
            turn.say("utter_verify_failed", attempts_left=details["attempts_left"])
        else:
            turn.say("utter_verify_failed_plain")
        return True
