"""Rasa input channels for the WeChat official account (`/webhooks/wechat/webhook`), and the
base they share with the WeCom channel.

The ack path (RELIABILITY rows 1-22, connectors/_ack.py): read at most 64 KB (413 beyond) →
`CallbackGate.open` (signature in constant time, ±300 s timestamp, AES safe mode with key
rotation, control characters stripped, defusedxml) → replayed nonce? ack → journal the message
under its dedup key (SQLite, durable; a duplicate is acked and dropped) → answer `success`. It
runs here, or in the webhook gateway (connectors/gateway.py) in front of the rasa server, which
acknowledges in its own process; this channel then reads what the gateway journalled. Either
way the Rasa turn runs in a task this object holds a reference to (a client disconnect cannot
cancel it), serialised per sender; its replies are merged into one message and sent with the
customer-service API inside the 48 h / 5-message window, else handed to the push pipeline
(template message, then SMS). Entries still pending at startup are replayed. The turn itself
runs on the turn thread (connectors/_turns.py), so that acks here never wait for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from redis import Redis
from redis.exceptions import RedisError
from sanic import Blueprint
from sanic.response import HTTPResponse

from connectors import rasa_tuning
from connectors._ack import acknowledge, webhook_blueprint
from connectors._journal import Journal
from connectors._turns import SenderQueues
from connectors.wechat import texts
from connectors.wechat.client import WeChatClient, mask_id
from connectors.wechat.errors import OutsideWindow, PlatformError, QuotaExceeded
from connectors.wechat.messages import Turn, button_payloads, render_reply, wechat_turn
from connectors.wechat.protocol import CallbackGate, Inbound
from connectors.wechat.push import PushFailed, PushPipeline
from connectors.wechat.settings import WeChatSettings
from connectors.wechat.window import CustomerServiceWindow

logger = logging.getLogger(__name__)
rasa_tuning.apply()  # the rasa server loads this module with its channels

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
MAX_ATTEMPTS = 3
SHUTDOWN_GRACE_SECONDS = 10
CHOICES_TTL_SECONDS = 3600
# How often the journal is read for messages the webhook gateway acked (adds half of it to a reply).
JOURNAL_POLL_SECONDS = 0.02
JOURNAL_RETRY_SECONDS = 5.0
#: events of the official account's own customer service (kf sessions), reported to the backend
KF_EVENTS = ("kf_create_session", "kf_close_session", "kf_switch_session")


def make_redis(url: str) -> Redis:
    # Short timeouts: a hung Redis must not stall a turn for Rasa's default 10 s.
    return Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


class PlatformInput(InputChannel):
    """What the WeChat and WeCom channels share; subclasses say how to send and what a message means."""

    def __init__(self, gate: CallbackGate, journal: Journal, redis: Redis, push: PushPipeline) -> None:
        self.gate = gate
        self.journal = journal
        self.redis = redis
        self.push = push
        self.queues = SenderQueues()
        # keys this process acked itself, until the journal follower has passed them
        self._accepted_here: set[str] = set()
        self._follower: asyncio.Task | None = None

    # --- what subclasses provide ---------------------------------------------------------------

    def turn_for(self, inbound: Inbound) -> Turn:
        raise NotImplementedError

    def deliver_sync(self, recipient: str, text: str, dedup_key: str) -> None:
        """Send `text` to `recipient` now, or hand it to the push pipeline. Runs in a thread."""
        raise NotImplementedError

    def interaction_sync(self, inbound: Inbound) -> None:
        """Bookkeeping when a user acts (WeChat opens the customer-service window). Runs in a thread."""

    # --- HTTP ------------------------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = webhook_blueprint(self.name(), self.gate, lambda query, body: self.accept(query, body, on_new_message))

        @hook.listener("after_server_start")
        async def start(*_: Any) -> None:
            rasa_tuning.freeze_loaded_heap()
            self._follower = asyncio.create_task(self.follow_journal(on_new_message))

        @hook.listener("before_server_stop")
        async def finish_running_turns(*_: Any) -> None:
            if self._follower is not None:
                self._follower.cancel()
            # turns cut short here stay pending in the journal and are replayed at the next start
            await self.queues.drain(timeout=SHUTDOWN_GRACE_SECONDS)

        return hook

    def accept(self, query: dict[str, str], body: bytes, on_new_message: OnNewMessage) -> HTTPResponse:
        """The ack path (connectors/_ack.py), then the message is scheduled at once."""
        ack = acknowledge(self.gate, self.journal, self.name(), query, body)
        if ack.accepted is not None:
            self._accepted_here.add(ack.accepted.key)
            self._schedule(ack.accepted.key, ack.accepted.fields, on_new_message)
        return ack.http()

    async def follow_journal(self, on_new_message: OnNewMessage) -> None:
        """Replay what a previous run left pending, then handle what the webhook gateway journals."""
        after = self.journal.last_row()
        self.replay_pending(on_new_message, up_to=after)
        while True:
            await asyncio.sleep(JOURNAL_POLL_SECONDS)
            try:
                after = self.take_journalled(after, on_new_message)
            except sqlite3.Error as exc:
                logger.error("ALERT %s cannot read the inbound journal: %s", self.name(), exc)
                await asyncio.sleep(JOURNAL_RETRY_SECONDS)  # one alert per retry, not fifty a second

    def take_journalled(self, after: int, on_new_message: OnNewMessage) -> int:
        """Schedule the entries journalled after row `after` by another process; the last row seen."""
        for row, entry in self.journal.since(self.name(), after):
            after = row
            if entry.key in self._accepted_here:
                self._accepted_here.discard(entry.key)  # acked and scheduled by this process
            elif entry.state == "pending":
                self._schedule(entry.key, entry.payload, on_new_message)
        return after

    def replay_pending(self, on_new_message: OnNewMessage, up_to: int | None = None) -> None:
        entries = self.journal.pending(self.name(), up_to=up_to)
        if entries:
            logger.info("%s replaying %s journalled messages", self.name(), len(entries))
        for entry in entries:
            if entry.attempts >= MAX_ATTEMPTS:
                logger.error("%s gives up on %s after %s attempts", self.name(), entry.key, entry.attempts)
                self.journal.give_up(entry.key)
                continue
            self._schedule(entry.key, entry.payload, on_new_message)

    # --- the turn --------------------------------------------------------------------------------

    def _schedule(self, key: str, fields: dict[str, str], on_new_message: OnNewMessage) -> None:
        """Hand the message to the turn thread, behind its sender's earlier ones."""
        self.queues.submit(fields["FromUserName"], lambda: self._handle(key, fields, on_new_message))

    async def _handle(self, key: str, fields: dict[str, str], on_new_message: OnNewMessage) -> None:
        try:
            await self._process(key, fields, on_new_message)
        except Exception:
            logger.exception("%s turn for %s failed", self.name(), key)
            self.journal.failed(key)

    async def _process(self, key: str, fields: dict[str, str], on_new_message: OnNewMessage) -> None:
        inbound = Inbound(fields, key, fields["FromUserName"], None, "")
        await asyncio.to_thread(self.interaction_sync, inbound)
        turn = self.turn_for(inbound)
        reply = turn.direct_reply
        if turn.text is not None:
            text = await asyncio.to_thread(self._resolve_choice, inbound.sender, turn)
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                inbound.sender,
                input_channel=self.name(),
                message_id=key,
                metadata=turn.metadata,
            )
            try:
                await on_new_message(message)
            except Exception:
                logger.exception("%s Rasa turn for %s failed; the message stays journalled", self.name(), key)
                self.journal.failed(key)
                await self.send(inbound.sender, texts.BUSY, f"chat:{key}:busy")
                return
            reply = render_reply(collector.messages)
            await asyncio.to_thread(self._remember_choices, inbound.sender, button_payloads(collector.messages))
            if reply and turn.notice:
                reply = f"{turn.notice}\n{reply}"
        if reply:
            await self.send(inbound.sender, reply, f"chat:{key}")
        self.journal.done(key)

    async def send(self, recipient: str, text: str, dedup_key: str) -> None:
        await asyncio.to_thread(self.deliver_sync, recipient, text, dedup_key)

    def hand_to_push(self, recipient: dict[str, str], text: str, dedup_key: str) -> None:
        try:
            self.push.enqueue_reply(recipient, text, dedup_key)
        except PushFailed as exc:
            logger.error("ALERT %s reply %s could not be handed to the push pipeline: %s", self.name(), dedup_key, exc)

    # --- numbered options: "1" answers the first button of the previous reply -------------------

    def _choices_key(self, sender: str) -> str:
        return f"pd:{self.name()}:choices:{sender}"

    def _resolve_choice(self, sender: str, turn: Turn) -> str:
        assert turn.text is not None
        if turn.metadata.get("msg_type") != "text" or not turn.text.isdigit():
            return turn.text
        try:
            stored = self.redis.get(self._choices_key(sender))
        except RedisError:
            return turn.text
        payloads = json.loads(stored) if stored else []
        index = int(turn.text)
        if 1 <= index <= len(payloads) and payloads[index - 1]:
            return str(payloads[index - 1])
        return turn.text

    def _remember_choices(self, sender: str, payloads: list[str]) -> None:
        try:
            if payloads:
                self.redis.set(self._choices_key(sender), json.dumps(payloads), ex=CHOICES_TTL_SECONDS)
            else:
                self.redis.delete(self._choices_key(sender))
        except RedisError as exc:
            logger.warning("%s could not store numbered options: %s", self.name(), exc)


class PlatformOutput(OutputChannel):
    """Messages Rasa sends outside a channel turn (e.g. `trigger_intent`): one message each."""

    def __init__(self, channel: PlatformInput) -> None:
        self._channel = channel

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._channel.send(recipient_id, text, f"chat:proactive:{uuid.uuid4().hex}")

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_message(recipient_id, render_reply([{"text": text, "buttons": buttons}]))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, image)


class WeChatOutput(PlatformOutput):
    @classmethod
    def name(cls) -> str:
        return "wechat"


class WeChatInput(PlatformInput):
    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WeChatInput:
        settings = WeChatSettings.load(credentials)
        redis = make_redis(settings.redis_url)
        client = WeChatClient(settings.app_id, settings.app_secret, settings.api_base_url, redis)
        return cls(
            settings.gate(),
            Journal(),
            redis,
            PushPipeline(settings.backend_url, settings.actions_token),
            client,
            CustomerServiceWindow(redis, settings.app_id),
        )

    def __init__(
        self,
        gate: CallbackGate,
        journal: Journal,
        redis: Redis,
        push: PushPipeline,
        client: WeChatClient,
        window: CustomerServiceWindow,
    ) -> None:
        super().__init__(gate, journal, redis, push)
        self.client = client
        self.window = window

    def get_output_channel(self) -> OutputChannel:
        return WeChatOutput(self)

    def turn_for(self, inbound: Inbound) -> Turn:
        return wechat_turn(inbound)

    def interaction_sync(self, inbound: Inbound) -> None:
        event = inbound.fields.get("Event", "").lower()
        if event in KF_EVENTS:  # WeChat's own customer service, not the user: no window opens
            self._kf_changed(inbound.sender, inbound.fields)
            return
        if event in ("subscribe", "unsubscribe"):
            self._follow_changed(inbound.sender, following=event == "subscribe")
        if event == "unsubscribe":
            self.window.close(inbound.sender)
            return
        self.window.opened(inbound.sender, by_message=inbound.msg_type != "event")

    def _follow_changed(self, openid: str, *, following: bool) -> None:
        change = "followed" if following else "unfollowed"
        logger.info("wechat user %s %s", mask_id(openid), change)
        try:
            self.push.follow_changed(openid, following)
        except PushFailed as exc:
            logger.warning("backend not told that %s %s: %s", mask_id(openid), change, exc)

    def _kf_changed(self, openid: str, fields: dict[str, str]) -> None:
        try:
            self.push.kf_session_changed(openid, fields)
        except PushFailed as exc:
            logger.error("ALERT backend not told of %s for %s: %s", fields.get("Event"), mask_id(openid), exc)

    def deliver_sync(self, recipient: str, text: str, dedup_key: str) -> None:
        if self.window.try_consume(recipient):
            try:
                self.client.send_text(recipient, text)
                return
            except (OutsideWindow, QuotaExceeded) as exc:
                self.window.close(recipient)
                logger.info("custom send to %s refused (%s): using the push pipeline", mask_id(recipient), exc.errcode)
            except PlatformError as exc:
                logger.warning("custom send to %s failed (%s): using the push pipeline", mask_id(recipient), exc)
        self.hand_to_push({"wechat_openid": recipient}, text, dedup_key)
