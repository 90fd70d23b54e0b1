"""What the reports learn from the conversation (the 日/周/月 reports' containment and fallbacks).

After each customer's turn the backend is told (`/conversation-events`):

- `fallback` for every message nothing was understood of;
- `resolved` once a day for a conversation the assistant answered itself: a turn that was
  understood, with no person asked for or on the line. Hand-offs are counted by the backend from
  its own records, and containment is the share of conversations that never reached a person.

Telling is best effort: a backend that cannot be reached costs the reports one event, never the
customer their answer.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from clients.backend import BackendError
from dialogue.context import Turn

logger = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8))
#: tasks during which a person, not the assistant, has (or will have) the conversation
WITH_A_PERSON = frozenset({"handoff", "callback"})


async def report(turn: Turn, misunderstood_before: int) -> None:
    """Tell the backend how the turn went (after `converse`)."""
    if turn.identity.is_worker:
        return
    state, now = turn.state, datetime.now(timezone.utc)
    if state.misunderstood > misunderstood_before:
        await _tell(turn, "fallback", now)
        return
    today = now.astimezone(CHINA).date().isoformat()
    task = state.task
    if state.counted_on == today or (task is not None and task["name"] in WITH_A_PERSON):
        return
    if await _tell(turn, "resolved", now):
        state.counted_on = today


async def _tell(turn: Turn, kind: str, at: datetime) -> bool:
    message = turn.message
    try:
        await turn.backend.conversation_event(message.channel, message.sender_id, kind, at.isoformat())
    except BackendError as exc:
        logger.warning("conversation event %s not recorded: %s", kind, exc)
        return False
    return True
