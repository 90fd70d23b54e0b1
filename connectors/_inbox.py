"""What the rasa server's channels (WeChat, WeCom, SMS) do with a journalled message, until it is
answered or given up (RELIABILITY rows 42-44, 46, 48).

A channel follows the inbound journal (connectors/_journal.py): what the webhook gateway journals is
read every 20 ms, and every second the entries due for another try (or left by a dead process)
are taken up. Each message is claimed (one process holds it for a lease; its attempt is counted
before the turn starts) and handled on the turn thread (connectors/_turns.py), one sender's
messages in order:

1. the turn runs (`respond`, at most `TURN_TIMEOUT_SECONDS`); a failed custom action fails it
   (connectors/turn_failures.py), so nothing half-done is saved;
2. its reply is kept in the journal, then handed over (`deliver_sync`: the platform, else the push
   pipeline); if that fails only the hand-over is tried again;
3. the message is done.

A failure releases the message for another try after a backoff (1 s … 60 s) for as long as the
process lives, and tells the customer once that the answer is delayed (`texts.DELAYED`). An outage
(action server unreachable or too slow, backend or Redis down) does not count against the message;
a failure of the message itself does, and the third one (a crash of the process included)
quarantines it: state `failed`, an ALERT log line, and an apology to the customer (`texts.APOLOGY`).

Each try runs under the message's request id (clients/request_ids.py), and is counted by its
outcome, `answered`, `retried` or `quarantined` (connectors/metrics.py).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from redis.exceptions import RedisError
from sanic import Blueprint

from clients import request_ids
from connectors import metrics, rasa_tuning, texts
from connectors._journal import Entry, Journal, new_owner
from connectors._turns import SenderQueues
from connectors.handoff_relay import HandoffRelay
from connectors.turn_failures import TurnFailed
from connectors.wechat.push import PushFailed

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
MAX_ATTEMPTS = 3
TURN_TIMEOUT_SECONDS = 45.0
#: a claim outlives the longest turn and its hand-over; a holder that dies frees it at once
LEASE_SECONDS = 120.0
RETRY_STEPS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
SHUTDOWN_GRACE_SECONDS = 10.0
# How often the journal is read for messages the webhook gateway acked (adds half of it to a reply).
JOURNAL_POLL_SECONDS = 0.02
DUE_SCAN_SECONDS = 1.0
PRUNE_SECONDS = 3600.0
JOURNAL_RETRY_SECONDS = 5.0


def retry_delay(failures: int) -> float:
    """Seconds before the next try of a message that failed `failures` times before this failure."""
    return RETRY_STEPS[min(failures, len(RETRY_STEPS) - 1)]


def is_outage(exc: BaseException) -> bool:
    """True when something the message needs was down, rather than the message failing."""
    if isinstance(exc, TurnFailed):
        return exc.unavailable
    return isinstance(exc, asyncio.TimeoutError | PushFailed | RedisError | sqlite3.OperationalError)


class JournalInput(InputChannel):
    """A Rasa input channel fed by the inbound journal; subclasses run the turn and deliver."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.queues = SenderQueues()
        self.owner = new_owner()
        # keys scheduled in this process and not finished yet (touched on Sanic's loop and the turn thread)
        self._inflight: set[str] = set()
        self._follower: asyncio.Task | None = None
        #: passes the messages of customers handed to a person straight to them (None: never)
        self.relay: HandoffRelay | None = None

    # --- what subclasses provide ---------------------------------------------------------------

    async def respond(self, entry: Entry, on_new_message: OnNewMessage) -> str:
        """Run the turn for `entry`; the reply to send ("" for none). Raises when it failed."""
        raise NotImplementedError

    def deliver_sync(self, recipient: str, text: str, dedup_key: str) -> None:
        """Send `text` now, or hand it to the push pipeline; PushFailed when neither took it.
        Runs in a thread."""
        raise NotImplementedError

    # --- following the journal -----------------------------------------------------------------

    def follow(self, hook: Blueprint, on_new_message: OnNewMessage) -> None:
        """Start following the journal with the server, and finish running turns when it stops."""

        @hook.listener("after_server_start")
        async def start(app: Any, *_: Any) -> None:
            rasa_tuning.freeze_loaded_heap()
            agent = getattr(app.ctx, "agent", None)
            if self.relay is not None and agent is not None and agent.domain is not None:
                self.relay.use_domain(agent.domain.responses)
            self._follower = asyncio.create_task(self.follow_journal(on_new_message))

        @hook.listener("before_server_stop")
        async def finish_running_turns(*_: Any) -> None:
            if self._follower is not None:
                self._follower.cancel()
            # turns cut short here stay claimed by this process, and are taken over at the next start
            await self.queues.drain(timeout=SHUTDOWN_GRACE_SECONDS)

    async def follow_journal(self, on_new_message: OnNewMessage) -> None:
        """Take up what is due (a previous run's messages first), then follow the webhook gateway."""
        after = self.journal.last_row()
        last_scan, last_prune = -DUE_SCAN_SECONDS, time.monotonic()
        while True:
            try:
                if time.monotonic() - last_scan >= DUE_SCAN_SECONDS:
                    last_scan = time.monotonic()
                    self.schedule_due(on_new_message)
                if time.monotonic() - last_prune >= PRUNE_SECONDS:
                    last_prune = time.monotonic()
                    self.journal.prune()
                after = self.take_journalled(after, on_new_message)
            except sqlite3.Error as exc:
                logger.error("ALERT %s cannot read the inbound journal: %s", self.name(), exc)
                await asyncio.sleep(JOURNAL_RETRY_SECONDS)  # one alert per retry, not fifty a second
            await asyncio.sleep(JOURNAL_POLL_SECONDS)

    def take_journalled(self, after: int, on_new_message: OnNewMessage) -> int:
        """Schedule the pending entries journalled after row `after`; the last row seen."""
        for row, entry in self.journal.since(self.name(), after):
            after = row
            if entry.state == "pending":
                self.schedule(entry.key, entry.sender, on_new_message)
        return after

    def schedule_due(self, on_new_message: OnNewMessage) -> None:
        """Schedule what may be tried now: retries whose time has come, and entries left unclaimed
        or held by a process that died."""
        for key, sender, dead_holder in self.journal.due(self.name(), self.owner):
            self.schedule(key, sender, on_new_message, dead_holder)

    def schedule(self, key: str, sender: str, on_new_message: OnNewMessage, dead_holder: str | None = None) -> None:
        """Hand the message to the turn thread, behind its sender's earlier ones (once)."""
        if key in self._inflight:
            return
        self._inflight.add(key)
        self.queues.submit(sender, lambda: self._handle(key, on_new_message, dead_holder))

    # --- one try -------------------------------------------------------------------------------

    async def _handle(self, key: str, on_new_message: OnNewMessage, dead_holder: str | None) -> None:
        try:
            entry = self.journal.claim(key, self.owner, LEASE_SECONDS, seen_owner=dead_holder)
            if entry is not None:
                await self._try(entry, on_new_message)
        except Exception:  # the journal itself failed: the entry stays pending, its lease runs out
            logger.exception("ALERT %s could not handle %s", self.name(), key)
        finally:
            self._inflight.discard(key)

    async def _try(self, entry: Entry, on_new_message: OnNewMessage) -> None:
        request_ids.current.set(request_ids.of_message(entry.key))  # this task's own context
        started = time.perf_counter()
        if entry.attempts > MAX_ATTEMPTS:  # the earlier tries failed on it, or crashed the process
            await self._quarantine(entry)
            return
        try:
            reply = entry.reply
            if reply is None:
                reply = await asyncio.wait_for(self.respond(entry, on_new_message), TURN_TIMEOUT_SECONDS)
                self.journal.answered(entry.key, reply)
            if reply:
                await self.send(entry.sender, reply, f"chat:{entry.key}")
        except Exception as exc:  # noqa: BLE001 - whatever failed, the message is kept for another try
            await self._failed(entry, exc)
            return
        self.journal.done(entry.key)
        metrics.TURNS.labels(self.name(), "answered").inc()
        metrics.TURN_SECONDS.labels(self.name()).observe(time.perf_counter() - started)

    async def _failed(self, entry: Entry, exc: Exception) -> None:
        outage = is_outage(exc)
        if outage:
            logger.warning("%s message %s waits: %s", self.name(), entry.key, exc or type(exc).__name__)
        else:
            logger.error("%s message %s failed (attempt %s)", self.name(), entry.key, entry.attempts, exc_info=exc)
            if entry.attempts >= MAX_ATTEMPTS:
                await self._quarantine(entry)
                return
        delay = retry_delay(entry.failures)
        self.journal.release(entry.key, self.owner, retry_in=delay, counted=not outage)
        metrics.TURNS.labels(self.name(), "retried").inc()
        await self._tell_delayed(entry)

    async def _tell_delayed(self, entry: Entry) -> None:
        """Once per message, and not while another message of the sender already said it."""
        if entry.notified:
            return
        if not self.journal.sender_notified(self.name(), entry.sender):
            try:
                await self.send(entry.sender, texts.DELAYED, f"chat:{entry.key}:delayed")
            except Exception as exc:  # noqa: BLE001 - the customer is told at the next failure, if any
                logger.warning("%s delay notice for %s not sent: %s", self.name(), entry.key, exc)
                return
        self.journal.mark_notified(entry.key)

    async def _quarantine(self, entry: Entry) -> None:
        self.journal.give_up(entry.key)
        metrics.TURNS.labels(self.name(), "quarantined").inc()
        logger.error("ALERT %s message %s quarantined after %s attempts", self.name(), entry.key, entry.attempts)
        try:
            await self.send(entry.sender, texts.APOLOGY, f"chat:{entry.key}:apology")
        except Exception as exc:  # noqa: BLE001 - the ALERT above has already called for staff
            logger.error("ALERT %s apology for %s not sent: %s", self.name(), entry.key, exc)

    async def handed_off(self, sender: str) -> int | None:
        """The hand-off whose person has the sender's conversation, as the last turn said."""
        return None if self.relay is None else await self.relay.marked(self.name(), sender)

    async def to_person(self, sender: str, handoff_id: int, text: str, metadata: dict[str, Any]) -> str | None:
        """The reply when the message went straight to the person, else None (the turn handles it)."""
        if self.relay is None:
            return None
        return await self.relay.pass_on(self.name(), sender, handoff_id, text, metadata)

    async def turn_said(self, sender: str, marked: int | None, messages: list[dict[str, Any]]) -> None:
        """After a turn: whether a person has the conversation now (what the reply says)."""
        if self.relay is not None:
            await self.relay.after_turn(self.name(), sender, marked, messages)

    async def send(self, recipient: str, text: str, dedup_key: str) -> None:
        await asyncio.to_thread(self.deliver_sync, recipient, text, dedup_key)
