"""The conversations, in the Redis every rasa server reads, kept short so that turn 50 costs what turn 2 costs.

Rasa re-reads, re-featurises and re-serialises a conversation's whole session on every turn, so
each turn of a long conversation costs more than the one before (docs/benchmarks.md). The
dialogue policies only look at the last few turns (rules, forms, `max_history: 5`), so older
turns can go once their effect is kept: when a conversation passes `2 × keep_turns` user turns,
everything before the last `keep_turns` is replaced by a session start that sets the slots and
the active form as they stood at that point, exactly as `action_session_start` does. Every state
the policies see over the kept turns is unchanged (tests/bot/test_tracker_store.py). What
compaction drops, the words, is kept in the full transcript (bot_runtime/transcript.py), appended
as each conversation is saved.

The store is Rasa's `RedisTrackerStore` (docs/adr/0014-shared-conversation-store.md): one key per
conversation, `pd:tracker:<sender>` (Rasa's key scheme under the deployment's namespace,
`POWERDESK_NAMESPACE`, default `pd`), holding the
serialised, compacted tracker and expiring `POWERDESK_MESSAGE_RETENTION_HOURS` (default 24) after
its last save. Its retrieve (one GET, the last session) is used as it is; no process keeps a copy,
so consecutive turns of one conversation may run in different rasa servers. Its save is replaced:

- Rasa's save is GET → merge → SET, not atomic (RELIABILITY). Its merge puts back whatever the
  stored tracker has that the saved one lacks, which would undo every compaction, so the compacted
  tracker is written as it is. The turn that saves holds the conversation's lock in Redis (Rasa's
  lock store, bot_runtime/lock_store.py), taken before its retrieve, so no other turn of the
  conversation wrote in between; the last writer is the turn that read what it overwrites.
- The GET before the write is kept for the transcript: the saved tracker is the stored one's last
  session (what the turn retrieved) followed by this turn's events, so those events are the ones
  past the stored session's length, as Rasa's own event-broker diff counts them. The tracker and
  the new lines of the transcript go in one MULTI/EXEC.

Rasa's smaller alternative, `InMemoryTrackerStore` over a Redis-backed mapping (the previous store's
shape over a SQLite file), asks the mapping twice per retrieve (`in`, then the value) and has no
place for the transcript's diff; the Redis store's retrieve needs nothing changed.

Redis unreachable: a retrieve or a save raises the RedisError (after at most `socket_timeout`
seconds). Rasa's agent wraps every tracker store in `FailSafeTrackerStore`, which would log it and
start the conversation afresh (a retrieve) or keep it in this process's memory (a save), both
invisible to the other rasa servers and losing the repair report in progress; the launcher's
declared patch `tracker-store-errors-fail-the-turn` (bot_runtime/rasa_patches.py, built by
`fail_safe_store_that_raises` here) sets that wrapper's error hook to log an ALERT and re-raise. The
RedisError reaches the channel unchanged, which keeps the message and tries it again later as an
outage (bot_runtime/_inbox.py).
"""

from __future__ import annotations

import copy
import json
import logging
import os
from typing import Any

import redis
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, RedisTrackerStore, TrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot_runtime import transcript
from platforms.settings import namespace, retention_seconds

logger = logging.getLogger(__name__)

#: seconds a Redis call may take before the turn fails (Rasa's default would be none)
SOCKET_TIMEOUT = 2.0


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


def retrieved_length(stored: str | None) -> int:
    """How many events a retrieve of the `stored` tracker returns: those from its last
    `action_session_start` on (where Rasa's `get_trackers_for_conversation_sessions` splits
    sessions), all of them when it has none, 0 when nothing is stored."""
    if stored is None:
        return 0
    events = json.loads(stored)["events"]
    starts = [
        i
        for i, event in enumerate(events)
        if event.get("event") == "action" and event.get("name") == ACTION_SESSION_START_NAME
    ]
    return len(events) - (starts[-1] if starts else 0)


def lines_of(events: list[Event]) -> list[transcript.Line]:
    """What the customer and the assistant said in `events`, for the transcript."""
    lines = []
    for event in events:
        if isinstance(event, UserUttered) and event.text:
            lines.append(transcript.Line("customer", event.text, event.timestamp))
        elif isinstance(event, BotUttered) and event.text:
            lines.append(transcript.Line("assistant", event.text, event.timestamp))
    return lines


class CompactingTrackerStore(RedisTrackerStore):
    """Rasa's Redis tracker store on `REDIS_URL` (endpoints.yml `url`), compacting each conversation
    and appending its new lines to the transcript as it is saved (`keep_turns` in endpoints.yml)."""

    def __init__(
        self,
        domain: Domain,
        host: str | None = None,
        event_broker: EventBroker | None = None,
        keep_turns: int = 3,
        socket_timeout: float = SOCKET_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        url = host or os.environ.get("REDIS_URL", "")
        if not url:
            raise ValueError("the conversation store needs REDIS_URL (bot/endpoints.yml tracker_store url)")
        # Rasa's constructor takes a host and a port; its client (which connects lazily, so never
        # here) is replaced by one on the URL with timeouts.
        super().__init__(domain, event_broker=event_broker, key_prefix=namespace(), **kwargs)
        self.red = redis.Redis.from_url(
            url,
            socket_timeout=float(socket_timeout),
            socket_connect_timeout=float(socket_timeout),
            decode_responses=True,
        )
        self.keep_turns = int(keep_turns)

    async def save(self, tracker: DialogueStateTracker, timeout: float | None = None) -> None:
        """The compacted tracker, expiring with the message retention, and the transcript's new lines."""
        await self.stream_events(tracker)
        key = self.key_prefix + tracker.sender_id
        new_events = list(tracker.events)[retrieved_length(self.red.get(key)) :]
        kept = compacted(tracker, self.keep_turns) or tracker
        with self.red.pipeline(transaction=True) as pipe:
            pipe.set(key, self.serialise_tracker(kept), ex=max(1, int(timeout or retention_seconds())))
            transcript.append(pipe, tracker.sender_id, lines_of(new_events))
            pipe.execute()


def fail_safe_store_that_raises(store: TrackerStore | None, domain: Domain) -> TrackerStore:
    """`Agent._create_tracker_store` as Rasa has it, with the wrapper's error hook set: a store
    that fails (Redis unreachable) fails the turn instead of starting the conversation afresh or
    keeping it in this process only (declared in bot_runtime/rasa_patches.py)."""
    if store is None:
        store = InMemoryTrackerStore(domain)
    else:
        store.domain = domain
    return FailSafeTrackerStore(store, on_tracker_store_error=_store_failed)


def _store_failed(error: Exception) -> None:
    logger.error(
        "ALERT conversation store unreachable (%s: %s): the turn fails, its message waits", type(error).__name__, error
    )
    raise error
