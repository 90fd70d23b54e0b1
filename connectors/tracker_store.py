"""A tracker store whose conversations stay short, so that turn 50 costs what turn 2 costs.

Rasa re-reads, re-featurises and re-serialises a conversation's whole session on every turn, so
each turn of a long conversation costs more than the one before (docs/benchmarks.md). The
dialogue policies only look at the last few turns (rules, forms, `max_history: 5`), so older
turns can go once their effect is kept: when a conversation passes `2 × keep_turns` user turns,
everything before the last `keep_turns` is replaced by a session start that sets the slots and
the active form as they stood at that point, exactly as `action_session_start` does. Every state
the policies see over the kept turns is unchanged (tests/bot/test_tracker_store.py).

The store is in memory like Rasa's default; what it drops is the old turns' detail, which the
backend's tickets and the channels' journals keep where it matters.
"""

from __future__ import annotations

import copy
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


def compacted(tracker: DialogueStateTracker, keep_turns: int) -> DialogueStateTracker | None:
    """The tracker with all but its last `keep_turns` user turns folded into a session start.

    None while the conversation has at most `2 × keep_turns` user turns (nothing to do yet).
    """
    events = list(tracker.events)
    turns = [i for i, event in enumerate(events) if isinstance(event, UserUttered)]
    if len(turns) <= 2 * keep_turns:
        return None
    boundary = turns[-keep_turns]
    before = DialogueStateTracker.from_events(tracker.sender_id, events[:boundary], slots=_fresh_slots(tracker))
    at = events[boundary].timestamp
    prefix: list[Event] = [ActionExecuted(ACTION_SESSION_START_NAME, timestamp=at), SessionStarted(timestamp=at)]
    for name, slot in before.slots.items():
        if slot.value != slot.initial_value:
            prefix.append(SlotSet(name, slot.value, timestamp=at))
    if before.active_loop_name:
        prefix.append(ActiveLoop(before.active_loop_name, timestamp=at))
    prefix.append(ActionExecuted(ACTION_LISTEN_NAME, timestamp=at))
    return DialogueStateTracker.from_events(
        tracker.sender_id,
        prefix + events[boundary:],
        slots=_fresh_slots(tracker),
        max_event_history=tracker._max_event_history,
        sender_source=tracker.sender_source,
    )


def _fresh_slots(tracker: DialogueStateTracker) -> list[Any]:
    return [copy.copy(slot) for slot in tracker.slots.values()]  # a tracker resets the slots it is given


class CompactingTrackerStore(InMemoryTrackerStore):
    """Rasa's in-memory store, compacting each conversation as it is saved (`keep_turns` in endpoints.yml)."""

    def __init__(
        self, domain: Domain, event_broker: EventBroker | None = None, keep_turns: int = 6, **kwargs: Any
    ) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self.keep_turns = int(keep_turns)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await super().save(compacted(tracker, self.keep_turns) or tracker)
