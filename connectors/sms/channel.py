"""The Rasa input channel for SMS replies: `/webhooks/sms/webhook` (or `/webhook/<token>`).

The ack path: allowlisted source IP → secret token (path or `token` query, constant time) → body
at most 64 KB, strictly validated (protocol.py) → each item journalled under its dedup key (a
retried or repeated push is acked and not processed again) → the provider's acknowledgement, well
inside Aliyun's 700 ms. Nothing on this path touches the network. Then each new item runs in a
task this object keeps, one sender at a time: "TD"/"退订" blocks the number at once (backend
`POST /notifications/opt-outs`); anything else is a Rasa turn (on the turn thread,
connectors/_turns.py, so acks never wait for it) whose replies are merged and sent
back by SMS through the push pipeline (`POST /notifications`, template `chat_reply`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import requests
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors import rasa_tuning
from connectors._journal import Journal
from connectors._turns import SenderQueues
from connectors.sms import protocol
from connectors.wechat.messages import render_reply
from connectors.wechat.push import PushFailed, PushPipeline

logger = logging.getLogger(__name__)
rasa_tuning.apply()  # the rasa server loads this module with its channels

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
MAX_ATTEMPTS = 3
SHUTDOWN_GRACE_SECONDS = 10.0
BUSY_TEXT = "抱歉，系统正忙，请稍后再发短信，或拨打95598供电服务热线。"


class OptOuts:
    """`POST {BACKEND_URL}/api/v1/notifications/opt-outs`: the number gets no more SMS from now on."""

    def __init__(self, backend_url: str, token: str, *, timeout: tuple[float, float] = (2.0, 5.0)) -> None:
        self._url = backend_url.rstrip("/") + "/api/v1/notifications/opt-outs"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout
        self._session = requests.Session()

    def record(self, phone: str) -> None:
        try:
            answer = self._session.post(self._url, json={"phone": phone}, headers=self._headers, timeout=self._timeout)
        except requests.RequestException as exc:
            raise PushFailed(type(exc).__name__) from exc
        if answer.status_code >= 300:
            raise PushFailed(f"HTTP {answer.status_code}")


def _mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


class SmsOutput(OutputChannel):
    """Messages Rasa sends outside a turn: each goes out as an SMS through the push pipeline."""

    def __init__(self, channel: SmsInput) -> None:
        self._channel = channel

    @classmethod
    def name(cls) -> str:
        return "sms"

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await asyncio.to_thread(self._channel.reply, recipient_id, text, f"sms:proactive:{os.urandom(8).hex()}")


class SmsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "sms"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SmsInput:
        def setting(name: str, default: str = "") -> str:
            return str((credentials or {}).get(name.lower()) or os.environ.get(name, default)).strip()

        token = setting("SMS_INBOUND_TOKEN")
        if len(token) < 16:
            raise ValueError("SMS_INBOUND_TOKEN must be set (at least 16 characters)")
        backend, actions_token = (
            setting("BACKEND_URL", "http://127.0.0.1:8000"),
            setting("POWERDESK_ACTIONS_TOKEN"),
        )
        allowlist = protocol.parse_allowlist(setting("SMS_ALLOWED_IPS"))
        return cls(token, allowlist, Journal(), PushPipeline(backend, actions_token), OptOuts(backend, actions_token))

    def __init__(
        self, token: str, allowlist: list[Any], journal: Journal, push: PushPipeline, opt_outs: OptOuts
    ) -> None:
        self.token = token
        self.allowlist = allowlist
        self.journal = journal
        self.push = push
        self.opt_outs = opt_outs
        self.queues = SenderQueues()

    def get_output_channel(self) -> OutputChannel:
        return SmsOutput(self)

    # --- HTTP ------------------------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("sms_webhook", __name__)

        @hook.get("/")
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.post("/webhook")
        async def receive(request: Request) -> HTTPResponse:
            return self.accept(request.ip, request.args.get("token"), request.body, on_new_message)

        @hook.post("/webhook/<token>")
        async def receive_with_path_token(request: Request, token: str) -> HTTPResponse:
            return self.accept(request.ip, token, request.body, on_new_message)

        @hook.listener("after_server_start")
        async def replay(*_: Any) -> None:
            rasa_tuning.freeze_loaded_heap()
            self.replay_pending(on_new_message)

        @hook.listener("before_server_stop")
        async def finish_running_turns(*_: Any) -> None:
            # turns cut short here stay pending in the journal and are replayed at the next start
            await self.queues.drain(timeout=SHUTDOWN_GRACE_SECONDS)

        return hook

    def accept(self, ip: str, token: str | None, body: bytes, on_new_message: OnNewMessage) -> HTTPResponse:
        if not protocol.ip_allowed(ip, self.allowlist):
            logger.warning("SMS push from %s refused: address not allowed", ip)
            return response.json({"code": 403, "msg": "forbidden"}, status=403)
        if not protocol.token_matches(token, self.token):
            logger.warning("SMS push from %s refused: wrong token", ip)
            return response.json({"code": 401, "msg": "unauthorized"}, status=401)
        try:
            provider, items = protocol.parse(body or b"")
        except protocol.MalformedSms as exc:
            logger.warning("SMS push refused: %s", exc)
            self.journal.quarantine(self.name(), str(exc), body[: protocol.MAX_BODY_BYTES] if body else b"")
            return response.json({"code": 400, "msg": "bad request"}, status=400)
        for item in items:
            if self.journal.accept(item.key, self.name(), item.phone, item.payload()):
                self._schedule(item.payload(), on_new_message)
            else:
                logger.info("SMS %s already received, acked again", item.key)
        return response.json(protocol.ack(provider))

    def replay_pending(self, on_new_message: OnNewMessage) -> None:
        for entry in self.journal.pending(self.name()):
            if entry.attempts >= MAX_ATTEMPTS:
                logger.error("SMS %s given up after %s attempts", entry.key, entry.attempts)
                self.journal.give_up(entry.key)
                continue
            self._schedule(entry.payload, on_new_message)

    # --- the turn --------------------------------------------------------------------------------

    def _schedule(self, payload: dict[str, Any], on_new_message: OnNewMessage) -> None:
        """Hand the message to the turn thread, behind its sender's earlier ones."""
        self.queues.submit(payload["phone"], lambda: self._handle(payload, on_new_message))

    async def _handle(self, payload: dict[str, Any], on_new_message: OnNewMessage) -> None:
        try:
            await self._process(payload, on_new_message)
        except Exception:
            logger.exception("SMS turn for %s failed", payload["key"])
            self.journal.failed(payload["key"])

    async def _process(self, payload: dict[str, Any], on_new_message: OnNewMessage) -> None:
        key, phone, text = payload["key"], payload["phone"], payload["text"]
        if protocol.is_opt_out(text):
            await asyncio.to_thread(self.opt_outs.record, phone)
            logger.info("SMS opt-out from %s recorded", _mask(phone))
            self.journal.done(key)
            return
        collector = CollectingOutputChannel()
        message = UserMessage(
            text, collector, phone, input_channel=self.name(), message_id=key,
            metadata={"message_key": key, "msg_type": "text"},
        )  # fmt: skip
        try:
            await on_new_message(message)
        except Exception:
            logger.exception("Rasa turn for SMS %s failed; it stays journalled", key)
            self.journal.failed(key)
            await asyncio.to_thread(self.reply, phone, BUSY_TEXT, f"chat:{key}:busy")
            return
        reply = render_reply(collector.messages)
        if reply:
            await asyncio.to_thread(self.reply, phone, reply, f"chat:{key}")
        self.journal.done(key)

    def reply(self, phone: str, text: str, dedup_key: str) -> None:
        """Send `text` to `phone` by SMS through the outbox (the notifier applies the limits)."""
        try:
            self.push.enqueue_reply({"phone": phone}, text, dedup_key)
        except PushFailed as exc:
            logger.error("ALERT SMS reply %s to %s not handed to the push pipeline: %s", dedup_key, _mask(phone), exc)
