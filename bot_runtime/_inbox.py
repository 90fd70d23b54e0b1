"""What the rasa server's channels (WeChat, WeCom, SMS) do with a queued message, until it is
answered or given up (RELIABILITY rows 42-46, 48).

A channel consumes its partitions of the inbound queue (bot_runtime/inbound_queue.py): every second
it renews its leases, takes its fair share of the partitions and any message a previous holder left
unfinished; meanwhile it reads what the gateways queue as it arrives (a blocking read, no polling).
Each message is claimed (its attempt counted before the turn starts) and handled on the turn
thread (bot_runtime/_turns.py), one sender's messages in order:

1. the turn runs (`respond`, at most `TURN_TIMEOUT_SECONDS`); a failed custom action fails it
   (bot_runtime/turn_failures.py), so nothing half-done is saved; a message tried again whose turn
   had already run (saved in its conversation, then the process died) is not run again: its reply
   is read from the conversation;
2. its reply is kept with the message, then handed over (`deliver_sync`: the platform, else the
   push pipeline), only while this process still holds the partition; if that fails only the
   hand-over is tried again;
3. the message is done.

A failure leaves the message unfinished, to be tried again after a backoff (1 s … 60 s) by
whoever holds its partition then, and tells the customer once that the answer is delayed
(`texts.DELAYED`). An outage (action server unreachable or too slow, backend or Redis down) does
not count against the message; a failure of the message itself does, and the third one (a crash
of the process included) quarantines it: an ALERT log line, the message kept in the quarantine
stream, and an apology to the customer (`texts.APOLOGY`). A process that cannot reach Redis takes
no message and says why in its health check (`problem`); its partitions go to the others within
the lease.

Each try runs under the message's request id (clients/request_ids.py), and is counted by its
outcome, `answered`, `retried` or `quarantined` (bot_runtime/metrics.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from redis.exceptions import RedisError
from sanic import Blueprint

from bot_runtime import metrics, rasa_tuning
from bot_runtime._turns import SenderQueues
from bot_runtime.handoff_relay import HandoffRelay
from bot_runtime.inbound_queue import Entry, InboundQueue, PartitionShare, connect, new_owner
from bot_runtime.lock_store import delete_left_lock
from bot_runtime.turn_failures import TurnFailed
from clients import request_ids
from clients.backend import BackendClient, BackendUnavailable
from platforms import texts
from platforms.wechat.messages import render_reply

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
MAX_ATTEMPTS = 3
TURN_TIMEOUT_SECONDS = 45.0
RETRY_STEPS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
SHUTDOWN_GRACE_SECONDS = 10.0
#: how often the leases are renewed and unfinished messages taken up (well inside the lease)
UPKEEP_SECONDS = 1.0
#: how long one read waits for a new message before it looks at the partitions held again
READ_BLOCK_MS = 500
TRIM_SECONDS = 3600.0
#: how long a message answered while Redis fails waits to be marked done before the upkeep takes it
FINISH_PATIENCE_SECONDS = 60.0


def retry_delay(failures: int) -> float:
    """Seconds before the next try of a message that failed `failures` times before this failure."""
    return RETRY_STEPS[min(failures, len(RETRY_STEPS) - 1)]


def is_outage(exc: BaseException) -> bool:
    """True when something the message needs was down, rather than the message failing."""
    if isinstance(exc, TurnFailed):
        return exc.unavailable
    return isinstance(exc, asyncio.TimeoutError | BackendUnavailable | RedisError)


class QueueInput(InputChannel):
    """A Rasa input channel fed by the inbound queue; subclasses run the turn and deliver."""

    def __init__(self, queue: InboundQueue, backend: BackendClient) -> None:
        self.queue = queue
        #: the backend, for replies that cannot go out in the chat and what the platforms tell
        self.backend = backend
        self.queues = SenderQueues()
        self.owner = new_owner()
        self.share = PartitionShare(queue, self.name(), self.owner)
        #: why this process takes no message now (None: it does)
        self.problem: str | None = "not started"
        # entries (`Entry.ref`) scheduled here and not finished (Sanic's loop and the turn thread)
        self._inflight: set[str] = set()
        # entries whose reply went out and that Redis has not yet marked done
        self._delivered: set[str] = set()
        self._tasks: list[asyncio.Task] = []
        #: passes the messages of customers handed to a person straight to them (None: never)
        self.relay: HandoffRelay | None = None
        #: Rasa's agent, once the server has loaded it: its tracker store says which turns ran
        self.agent: Agent | None = None

    # --- what subclasses provide ---------------------------------------------------------------

    async def respond(self, entry: Entry, on_new_message: OnNewMessage) -> str:
        """Run the turn for `entry`; the reply to send ("" for none). Raises when it failed."""
        raise NotImplementedError

    def deliver_sync(self, recipient: str, text: str, dedup_key: str) -> None:
        """Send `text` now, or hand it to the push pipeline; BackendUnavailable when neither took it.
        Runs in a thread."""
        raise NotImplementedError

    def backend_now(self) -> BackendClient:
        """The backend client with the request id of the message being handled (`X-Request-ID`)."""
        return self.backend.with_request_id(request_ids.current.get())

    def push_reply_sync(self, recipient: dict[str, str], text: str, dedup_key: str) -> None:
        """Hand a reply that cannot go out in the chat to the push pipeline (`chat_reply`), with the
        request id of the message being answered; BackendUnavailable keeps the message in the queue.
        Runs in a delivery thread, which has no event loop of its own."""
        asyncio.run(self.backend_now().push_reply(recipient, text, dedup_key))

    # --- consuming the queue -------------------------------------------------------------------

    def health(self) -> tuple[int, dict[str, Any]]:
        """The channel's readiness: 503 with the reason while it takes no message."""
        if self.problem is not None:
            return 503, {"status": "unavailable", "reason": self.problem}
        return 200, {"status": "ok", "partitions": list(self.share.held)}

    def follow(self, hook: Blueprint, on_new_message: OnNewMessage) -> None:
        """Consume the queue with the server, and finish running turns when it stops."""

        @hook.listener("after_server_start")
        async def start(app: Any, *_: Any) -> None:
            rasa_tuning.freeze_loaded_heap()
            agent = getattr(app.ctx, "agent", None)
            self.agent = agent
            if self.relay is not None and agent is not None and agent.domain is not None:
                self.relay.use_domain(agent.domain.responses)
            reader = InboundQueue(connect(timeout=READ_BLOCK_MS / 1000 + 2), partition_count=self.queue.partition_count)
            self._tasks = [
                asyncio.create_task(self.keep_share(on_new_message)),
                asyncio.create_task(self.read_new(reader, on_new_message)),
            ]

        @hook.listener("before_server_stop")
        async def finish_running_turns(*_: Any) -> None:
            for task in self._tasks:
                task.cancel()
            # turns cut short here stay unfinished, and are taken over by whoever holds the partition next
            await self.queues.drain(timeout=SHUTDOWN_GRACE_SECONDS)
            try:
                await asyncio.to_thread(self.share.leave)
            except RedisError as exc:
                logger.warning("%s partitions not handed back (%s): free in %s ms", self.name(), exc, "5000")

    async def keep_share(self, on_new_message: OnNewMessage) -> None:
        """Every second: keep this process's partitions, and take up what is unfinished in them."""
        last_trim = time.monotonic()
        while True:
            await self.upkeep(on_new_message)
            if self.problem is None and time.monotonic() - last_trim >= TRIM_SECONDS:
                last_trim = time.monotonic()
                await asyncio.to_thread(self.queue.trim, self.name())
            await asyncio.sleep(UPKEEP_SECONDS)

    async def upkeep(self, on_new_message: OnNewMessage) -> None:
        """One round: renew and rebalance the partitions, schedule their unfinished messages that are due."""
        try:
            held, lost, unfinished = await asyncio.to_thread(self._upkeep)
        except RedisError as exc:
            if self.problem is None or self.problem == "not started":
                logger.error("ALERT %s takes no message: Redis unreachable (%s)", self.name(), exc)
            self.problem = f"Redis unreachable: {type(exc).__name__}"
            self.share.held = []
            return
        for entry in unfinished:  # before any new message of the partition is read
            self.schedule(entry, on_new_message)
        self.share.held = held
        if lost:
            logger.warning("%s lost partitions %s to another process", self.name(), lost)
        if self.problem is not None:
            logger.info("%s takes messages: partitions %s", self.name(), held)
        self.problem = None

    def _upkeep(self) -> tuple[list[int], list[int], list[Entry]]:
        held, lost = self.share.upkeep(busy=self._busy)
        unfinished = [
            entry
            for partition in held
            for entry in self.queue.unfinished(self.name(), partition, self.owner, skip=self._inflight)
        ]
        return held, lost, unfinished

    def _busy(self, partition: int) -> bool:
        prefix = f"{self.name()}:{partition}:"
        return any(ref.startswith(prefix) for ref in list(self._inflight))

    async def read_new(self, reader: InboundQueue, on_new_message: OnNewMessage) -> None:
        """Schedule each new message of the partitions held as soon as a gateway queues it."""
        while True:
            if not self.share.held:
                await asyncio.sleep(UPKEEP_SECONDS / 5)
                continue
            try:
                await self.read_once(reader, on_new_message, READ_BLOCK_MS)
            except RedisError:  # the upkeep says so and lets the partitions go
                await asyncio.sleep(UPKEEP_SECONDS)

    async def read_once(self, reader: InboundQueue, on_new_message: OnNewMessage, block_ms: int | None) -> None:
        """Schedule the new messages of the partitions held, waiting up to `block_ms` for the first."""
        held = list(self.share.held)
        for entry in await asyncio.to_thread(reader.read, self.name(), held, self.owner, block_ms):
            self.schedule(entry, on_new_message)

    def schedule(self, entry: Entry, on_new_message: OnNewMessage) -> None:
        """Hand the message to the turn thread, behind its sender's earlier ones (once)."""
        if entry.ref in self._inflight:
            return
        self._inflight.add(entry.ref)
        self.queues.submit(entry.sender, lambda: self._handle(entry, on_new_message))

    # --- one try -------------------------------------------------------------------------------

    async def _handle(self, entry: Entry, on_new_message: OnNewMessage) -> None:
        try:
            claimed = await asyncio.to_thread(self.queue.claim, entry, self.owner)
            if claimed is not None and (entry.taken_over or claimed.tried_before):
                await asyncio.to_thread(self._clear_conversation_lock, entry.sender)
            if claimed is not None:
                await self._try(claimed, on_new_message)
        except Exception:  # Redis failed: the message stays unfinished, taken up again by the upkeep
            logger.exception("ALERT %s could not handle %s", self.name(), entry.key)
        finally:
            self._inflight.discard(entry.ref)

    def _clear_conversation_lock(self, sender: str) -> None:
        """Before any try of a message but its first here, the sender's conversation lock goes: a
        turn that did not finish (its server died, or Redis failed under it) leaves Rasa's lock for
        its lifetime (60 s), and this try would wait that long. No other turn of the sender can be
        running: this process holds the partition and runs the sender's turns one at a time
        (docs/adr/0015)."""
        lock_store = None if self.agent is None else self.agent.lock_store
        if lock_store is not None and delete_left_lock(lock_store, sender):
            logger.warning("%s deleted the conversation lock a turn that did not finish left", self.name())

    async def _try(self, entry: Entry, on_new_message: OnNewMessage) -> None:
        request_ids.current.set(request_ids.of_message(entry.key))  # this task's own context
        started = time.perf_counter()
        if entry.attempts > MAX_ATTEMPTS:  # the earlier tries failed on it, or crashed the process
            await self._quarantine(entry)
            return
        try:
            reply = entry.reply
            if reply is None:
                if entry.tried_before:
                    reply = await self.reply_of_a_turn_that_ran(entry)
                if reply is None:
                    reply = await asyncio.wait_for(self.respond(entry, on_new_message), TURN_TIMEOUT_SECONDS)
                await asyncio.to_thread(self.queue.answered, entry, reply)
            if not await asyncio.to_thread(self._deliver_and_finish, entry, reply):
                logger.warning("%s message %s left to the partition's new holder", self.name(), entry.key)
                return
        except RedisError as exc:
            if entry.ref not in self._delivered:
                await self._failed(entry, exc)
                return
            await self._finish_when_redis_is_back(entry)
        except Exception as exc:  # noqa: BLE001 - whatever failed, the message is kept for another try
            await self._failed(entry, exc)
            return
        metrics.TURNS.labels(self.name(), "answered").inc()
        metrics.TURN_SECONDS.labels(self.name()).observe(time.perf_counter() - started)

    async def reply_of_a_turn_that_ran(self, entry: Entry) -> str | None:
        """The reply of this message's turn if the turn already ran (its conversation was saved, then
        the process died or Redis failed before the reply was kept), read from the conversation, so
        that a message is never run twice; None when it did not run."""
        if self.agent is None or self.agent.tracker_store is None:
            return None
        tracker = await self.agent.tracker_store.retrieve(entry.sender)
        events = list(tracker.events) if tracker is not None else []
        ran = next((i for i, e in enumerate(events) if isinstance(e, UserUttered) and e.message_id == entry.key), None)
        if ran is None:
            return None
        said = []
        for event in events[ran + 1 :]:
            if isinstance(event, UserUttered):
                break
            if isinstance(event, BotUttered):
                said.append({"text": event.text, **{k: v for k, v in (event.data or {}).items() if v}})
        logger.info("%s message %s had run: its reply is taken from the conversation", self.name(), entry.key)
        return render_reply(said)

    def _deliver_and_finish(self, entry: Entry, reply: str) -> bool:
        """Hand the reply over and mark the message done, in one go on one thread, so that a crash
        between the two (the one moment that would answer it twice) lasts a Redis round trip; False
        when this process no longer holds the message's partition (nothing is sent). Remembers what
        was delivered until it is marked done, so that Redis failing in between never sends it again."""
        if entry.ref not in self._delivered:
            if not self.queue.holds(entry.channel, entry.partition, self.owner):
                return False
            if reply:
                self.deliver_sync(entry.sender, reply, f"chat:{entry.key}")
            self._delivered.add(entry.ref)
        self.queue.done(entry)
        self._delivered.discard(entry.ref)
        return True

    async def _finish_when_redis_is_back(self, entry: Entry) -> None:
        """The reply went out but Redis failed before the message was marked done (a restart):
        try again for a while; after that the upkeep takes it up, and it is only marked done."""
        deadline = time.monotonic() + FINISH_PATIENCE_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(UPKEEP_SECONDS / 2)
            try:
                await asyncio.to_thread(self.queue.done, entry)
            except RedisError:
                continue
            self._delivered.discard(entry.ref)
            return
        logger.error("ALERT %s message %s answered, not yet marked done: Redis unreachable", self.name(), entry.key)

    async def _failed(self, entry: Entry, exc: Exception) -> None:
        outage = is_outage(exc)
        if outage:
            logger.warning("%s message %s waits: %s", self.name(), entry.key, exc or type(exc).__name__)
        else:
            logger.error("%s message %s failed (attempt %s)", self.name(), entry.key, entry.attempts, exc_info=exc)
            if entry.attempts >= MAX_ATTEMPTS:
                await self._quarantine(entry)
                return
        retry_in = retry_delay(entry.failures)
        await asyncio.to_thread(self.queue.failed, entry, counted=not outage, retry_in=retry_in)
        metrics.TURNS.labels(self.name(), "retried").inc()
        await self._tell_delayed(entry)

    async def _tell_delayed(self, entry: Entry) -> None:
        """Once per message, and not while another message of the sender already said it."""
        if entry.notified:
            return
        if not await asyncio.to_thread(self.queue.sender_notified, self.name(), entry.sender):
            try:
                await self.send(entry.sender, texts.DELAYED, f"chat:{entry.key}:delayed")
            except Exception as exc:  # noqa: BLE001 - the customer is told at the next failure, if any
                logger.warning("%s delay notice for %s not sent: %s", self.name(), entry.key, exc)
                return
        await asyncio.to_thread(self.queue.mark_notified, entry)

    async def _quarantine(self, entry: Entry) -> None:
        await asyncio.to_thread(self.queue.give_up, entry, f"failed {entry.attempts} times")
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
