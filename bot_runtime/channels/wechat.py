"""Rasa input channels for the WeChat official account (`/webhooks/wechat/webhook`), and the
base they share with the WeCom channel.

The ack path (RELIABILITY rows 1-22, bot_runtime/_ack.py): read at most 64 KB (413 beyond) →
`CallbackGate.open` (signature in constant time, ±300 s timestamp, AES safe mode with key
rotation, control characters stripped, defusedxml) → replayed nonce? ack → queue the message
under its dedup key (Redis Streams, durable; a duplicate is acked and dropped) → answer `success`.
It runs in the webhook gateway (bot_runtime/gateway.py) in front of the rasa servers, or here when a
platform posts to a rasa server directly. Either way the message is then handled as every queued
message is, by whichever rasa server holds its partition (bot_runtime/_inbox.py: claimed, turn,
reply kept, retried with backoff, quarantined after three failures): its replies are merged into
one message and sent with the
customer-service API inside the 48 h / 5-message window, else handed to the push pipeline
(template message, then SMS).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from redis import Redis
from redis.exceptions import RedisError
from sanic import Blueprint
from sanic.response import HTTPResponse

from bot_runtime._ack import acknowledge, webhook_blueprint
from bot_runtime._inbox import OnNewMessage, QueueInput
from bot_runtime.handoff_relay import HandoffRelay
from bot_runtime.inbound_queue import Entry, InboundQueue
from clients.backend import BackendClient, BackendError
from platforms.wechat.client import WeChatClient, mask_id
from platforms.wechat.customer_service import CustomerService
from platforms.wechat.errors import OutsideWindow, PlatformError, QuotaExceeded
from platforms.wechat.messages import Turn, button_payloads, render_reply, wechat_turn
from platforms.wechat.protocol import CallbackGate, Inbound
from platforms.wechat.settings import WeChatSettings
from platforms.wechat.window import CustomerServiceWindow

logger = logging.getLogger(__name__)

CHOICES_TTL_SECONDS = 3600
#: events of the official account's own customer service (kf sessions), reported to the backend
KF_EVENTS = ("kf_create_session", "kf_close_session", "kf_switch_session")
#: what a customer handed to a person may write to them directly (a picture or a place takes a turn)
RELAYED_TYPES = ("text", "voice")


def make_redis(url: str) -> Redis:
    # Short timeouts: a hung Redis must not stall a turn for Rasa's default 10 s.
    return Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


class PlatformInput(QueueInput):
    """What the WeChat and WeCom channels share; subclasses say how to send and what a message means."""

    def __init__(self, gate: CallbackGate, queue: InboundQueue, redis: Redis, backend: BackendClient) -> None:
        super().__init__(queue, backend)
        self.gate = gate
        self.redis = redis

    # --- what subclasses provide ---------------------------------------------------------------

    def turn_for(self, inbound: Inbound) -> Turn:
        raise NotImplementedError

    def interaction_sync(self, inbound: Inbound) -> None:
        """Bookkeeping when a user acts (WeChat opens the customer-service window). Runs in a thread."""

    # --- HTTP ------------------------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = webhook_blueprint(self.name(), self.gate, self.accept, self.health)
        self.follow(hook, on_new_message)
        return hook

    def accept(self, query: dict[str, str], body: bytes) -> HTTPResponse:
        """The ack path (bot_runtime/_ack.py); whoever holds the message's partition handles it."""
        return acknowledge(self.gate, self.queue, self.name(), query, body).http()

    # --- the turn --------------------------------------------------------------------------------

    async def respond(self, entry: Entry, on_new_message: OnNewMessage) -> str:
        fields = entry.payload
        inbound = Inbound(fields, entry.key, fields["FromUserName"], None, "")
        await asyncio.to_thread(self.interaction_sync, inbound)
        turn = self.turn_for(inbound)
        if turn.text is None:
            return turn.direct_reply or ""
        marked = await self.handed_off(inbound.sender)
        if marked is not None and turn.metadata.get("msg_type") in RELAYED_TYPES:
            passed = await self.to_person(inbound.sender, marked, turn.text, turn.metadata)
            if passed is not None:
                return f"{turn.notice}\n{passed}" if passed and turn.notice else passed
        text = await asyncio.to_thread(self._resolve_choice, inbound.sender, turn)
        collector = CollectingOutputChannel()
        message = UserMessage(
            text, collector, inbound.sender, input_channel=self.name(), message_id=entry.key, metadata=turn.metadata
        )
        await on_new_message(message)
        await self.turn_said(inbound.sender, marked, collector.messages)
        reply = render_reply(collector.messages)
        await asyncio.to_thread(self._remember_choices, inbound.sender, button_payloads(collector.messages))
        if reply and turn.notice:
            reply = f"{turn.notice}\n{reply}"
        return reply

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
        channel = cls(
            settings.gate(),
            InboundQueue(),
            redis,
            BackendClient(settings.backend_url, settings.actions_token),
            client,
            CustomerServiceWindow(redis, settings.app_id),
        )
        channel.relay = HandoffRelay.connect(settings.redis_url, settings.backend_url, settings.actions_token)
        return channel

    def __init__(
        self,
        gate: CallbackGate,
        queue: InboundQueue,
        redis: Redis,
        backend: BackendClient,
        client: WeChatClient,
        window: CustomerServiceWindow,
    ) -> None:
        super().__init__(gate, queue, redis, backend)
        self.window = window
        self.customer_service = CustomerService(client, window)

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
            asyncio.run(self.backend_now().wechat_follow_changed(openid, following))
        except BackendError as exc:
            logger.warning("backend not told that %s %s: %s", mask_id(openid), change, exc)

    def _kf_changed(self, openid: str, fields: dict[str, str]) -> None:
        event = fields.get("Event", "").lower()
        body = {"event": event, "openid": openid}
        if event == "kf_switch_session":
            body |= {"kf_account": fields.get("FromKfAccount", ""), "to_kf_account": fields.get("ToKfAccount", "")}
        else:
            body["kf_account"] = fields.get("KfAccount", "")
        try:
            asyncio.run(self.backend_now().wechat_kf_event(body))
        except BackendError as exc:
            logger.error("ALERT backend not told of %s for %s: %s", fields.get("Event"), mask_id(openid), exc)

    def deliver_sync(self, recipient: str, text: str, dedup_key: str) -> None:
        try:
            if self.customer_service.send(recipient, text):
                return
        except (OutsideWindow, QuotaExceeded) as exc:
            logger.info("custom send to %s refused (%s): using the push pipeline", mask_id(recipient), exc.errcode)
        except PlatformError as exc:
            logger.warning("custom send to %s failed (%s): using the push pipeline", mask_id(recipient), exc)
        self.push_reply_sync({"wechat_openid": recipient}, text, dedup_key)
