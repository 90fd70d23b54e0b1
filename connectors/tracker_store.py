"""A tracker store whose conversations stay short, so that turn 50 costs what turn 2 costs.

Rasa re-reads, re-featurises and re-serialises a conversation's whole session on every turn, so
each turn of a long conversation costs more than the one before (docs/benchmarks.md). The
dialogue policies only look at the last few turns (rules, forms, `max_history: 5`), so older
turns can go once their effect is kept: when a conversation passes `2 × keep_turns` user turns,
everything before the last `keep_turns` is replaced by a session start that sets the slots and
the active form as they stood at that point, exactly as `action_session_start` does. Every state
the policies see over the kept turns is unchanged (tests/bot/test_tracker_store.py).

Conversations are kept in memory, as by Rasa's default store, and written through to a local
SQLite file (`conversations.sqlite3` under `POWERDESK_VAR_DIR`), so that a restart of the rasa
server does not drop a customer in the middle of a repair report: the next message continues
the form where it stood. What compaction drops is the old turns' detail, which the backend's
tickets and the channels' journals keep where it matters. A conversation not saved for
`POWERDESK_MESSAGE_RETENTION_HOURS` (default 24) is deleted with the messages it holds.
"""

from __future__ import annotations

import copy
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors._settings import retention_seconds

logger = logging.getLogger(__name__)

#: conversations are pruned every this many saves (and when the file is opened): those not saved
#: for `POWERDESK_MESSAGE_RETENTION_HOURS` (default 24) are deleted, with the messages they hold
PRUNE_EVERY = 1000


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5)
    db.execute("PRAGMA journal_mode=WAL")
    return db


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


class ConversationFile(MutableMapping[str, str]):
    """Serialised conversations by sender id: read through a memory cache, written through to a
    SQLite file. One rasa server owns the file; Sanic's thread and the turn thread share it."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = _open(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS conversation"
            " (sender TEXT PRIMARY KEY, tracker TEXT NOT NULL, saved_at REAL NOT NULL)"
        )
        self._cache: dict[str, str] = {}
        self._writes = 0
        self._db.execute("DELETE FROM conversation WHERE saved_at < ?", (time.time() - retention_seconds(),))

    def __getitem__(self, sender: str) -> str:
        if sender in self._cache:
            return self._cache[sender]
        try:
            with self._lock:
                row = self._db.execute("SELECT tracker FROM conversation WHERE sender = ?", (sender,)).fetchone()
        except sqlite3.Error as exc:
            logger.error("ALERT conversations file unreadable (%s): %s starts afresh", exc, sender)
            raise KeyError(sender) from exc
        if row is None:
            raise KeyError(sender)
        self._cache[sender] = row[0]
        return str(row[0])

    def __setitem__(self, sender: str, tracker: str) -> None:
        """Kept in memory first: a file that cannot be written (disk full, I/O error) costs the
        conversation its survival of a restart, never the conversation itself."""
        self._cache[sender] = tracker
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO conversation (sender, tracker, saved_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (sender) DO UPDATE SET tracker = excluded.tracker, saved_at = excluded.saved_at",
                    (sender, tracker, time.time()),
                )
                self._writes += 1
                if self._writes % PRUNE_EVERY == 0:
                    self._db.execute(
                        "DELETE FROM conversation WHERE saved_at < ?", (time.time() - retention_seconds(),)
                    )
                    self._cache = {sender: tracker}
        except sqlite3.Error as exc:
            logger.error("ALERT conversations file unwritable (%s): %s kept in memory only", exc, sender)

    def __delitem__(self, sender: str) -> None:
        with self._lock:
            deleted = self._db.execute("DELETE FROM conversation WHERE sender = ?", (sender,)).rowcount
        self._cache.pop(sender, None)
        if not deleted:
            raise KeyError(sender)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            senders = [sender for (sender,) in self._db.execute("SELECT sender FROM conversation ORDER BY sender")]
        return iter(senders)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM conversation").fetchone()[0])


class CompactingTrackerStore(InMemoryTrackerStore):
    """Rasa's in-memory store over a `ConversationFile`, compacting each conversation as it is saved
    (`keep_turns` in endpoints.yml)."""

    def __init__(
        self,
        domain: Domain,
        event_broker: EventBroker | None = None,
        keep_turns: int = 3,
        path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self.keep_turns = int(keep_turns)
        self.store = ConversationFile(
            Path(path) if path else Path(os.environ.get("POWERDESK_VAR_DIR") or "var") / "conversations.sqlite3"
        )  # type: ignore[assignment]

    async def save(self, tracker: DialogueStateTracker) -> None:
        await super().save(compacted(tracker, self.keep_turns) or tracker)
