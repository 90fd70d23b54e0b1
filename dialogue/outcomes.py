"""What the reports learn from the conversation (the 日/周/月 reports' containment and fallbacks).

After each customer's turn the dialogue notes, on the turn (`Turn.outcomes`), the conversation
events the backend counts (`/conversation-events`):

- `fallback` for every message nothing was understood of;
- `resolved` once a day (Beijing time) for a conversation the assistant answered itself: a turn
  that was understood, with no person asked for or on the line. Hand-offs are counted by the
  backend from its own records; containment is the share of conversations that never reached one.

Noting costs the turn nothing: the events are plain data, sent later in batches by the action
server (actions/outcomes.py), never inside the customer's turn.
"""

from __future__ import annotations

from dialogue.context import Turn
from dialogue.phrases import now

#: tasks during which a person, not the assistant, has (or will have) the conversation
WITH_A_PERSON = frozenset({"handoff", "callback"})


def note(turn: Turn, misunderstood_before: int) -> None:
    """Note the events of the turn just answered (after `converse`)."""
    if turn.identity.is_worker:
        return
    state, moment = turn.state, now()
    if state.misunderstood > misunderstood_before:
        _event(turn, "fallback", moment.isoformat())
        return
    today = moment.date().isoformat()
    task = state.task
    if state.counted_on == today or (task is not None and task["name"] in WITH_A_PERSON):
        return
    _event(turn, "resolved", moment.isoformat())
    state.counted_on = today


def _event(turn: Turn, kind: str, at: str) -> None:
    message = turn.message
    turn.outcomes.append({"sender_id": message.sender_id, "channel": message.channel, "kind": kind, "at": at})
