"""The Rasa input channel for SMS replies (上行短信). The providers post to the webhook gateway
(bot_runtime/sms_webhook.py), which queues each reply; this channel consumes the queue like the
WeChat channel does (bot_runtime/_inbox.py: claimed, turn, reply kept, retried with backoff,
quarantined after three failures). Its only route is the readiness check `/webhooks/sms/`.

A reply is normalised like every channel's text (platforms/text.py: NFKC, control and zero-width
characters, a leading "/" can never inject an intent). Then, one sender at a time:
- the providers' unsubscribe keywords, exactly "TD", "T" or "退订", stop the SMS to the number
  (backend `POST /notifications/opt-outs`; the notices the utility owes by law still go out, see
  docs/adr/0006-sms-consent.md); nothing is answered, the provider confirms the opt-out itself;
- "订阅" undoes it (`DELETE /notifications/opt-outs/{phone}`) and is answered;
- anything else is a Rasa turn whose replies are merged and sent back by SMS through the push
  pipeline (`POST /notifications`, template `chat_reply`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot_runtime._inbox import OnNewMessage, QueueInput
from bot_runtime.handoff_relay import HandoffRelay
from bot_runtime.inbound_queue import Entry, InboundQueue
from bot_runtime.sms_webhook import REPLIES
from clients.backend import BackendClient
from platforms import texts
from platforms.settings import setting
from platforms.sms import protocol
from platforms.sms.client import mask_phone
from platforms.text import MAX_CHARS, normalize
from platforms.wechat.messages import render_reply

logger = logging.getLogger(__name__)


class SmsOutput(OutputChannel):
    """Messages Rasa sends outside a turn: each goes out as an SMS through the push pipeline."""

    def __init__(self, channel: SmsInput) -> None:
        self._channel = channel

    @classmethod
    def name(cls) -> str:
        return "sms"

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._channel.send(recipient_id, text, f"sms:proactive:{os.urandom(8).hex()}")


class SmsInput(QueueInput):
    @classmethod
    def name(cls) -> str:
        return REPLIES

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SmsInput:
        backend = setting(credentials, "BACKEND_URL", "http://127.0.0.1:8000")
        token = setting(credentials, "POWERDESK_ACTIONS_TOKEN")
        channel = cls(InboundQueue(), BackendClient(backend, token))
        redis_url = setting(credentials, "REDIS_URL", "redis://127.0.0.1:6379/0")
        channel.relay = HandoffRelay.connect(redis_url, backend, token)
        return channel

    def get_output_channel(self) -> OutputChannel:
        return SmsOutput(self)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("sms_webhook", __name__)

        @hook.get("/")
        async def ready(_: Request) -> HTTPResponse:
            status, body = self.health()
            return response.json(body, status=status)

        self.follow(hook, on_new_message)
        return hook

    async def respond(self, entry: Entry, on_new_message: OnNewMessage) -> str:
        phone, raw = entry.sender, entry.payload["text"]
        if protocol.is_opt_out(raw):
            await self.backend_now().sms_opt_out(phone)
            logger.info("SMS opt-out from %s recorded", mask_phone(phone))
            return ""
        if protocol.is_opt_in(raw):
            await self.backend_now().sms_opt_in(phone)
            logger.info("SMS opt-in from %s recorded", mask_phone(phone))
            return texts.SMS_SUBSCRIBED
        normalized = normalize(raw)
        if not normalized.text:
            return texts.EMPTY_MESSAGE
        metadata: dict[str, Any] = {"message_key": entry.key, "msg_type": "text"}
        text = normalized.text
        marked = await self.handed_off(phone)
        if normalized.emoji_only:  # no words for the NLU: the bot asks for words, as on WeChat
            text, metadata["emoji_only"] = "/nlu_fallback", True
        elif marked is not None:
            passed = await self.to_person(phone, marked, text, metadata)
            if passed is not None:
                notice = texts.TRUNCATED.format(limit=MAX_CHARS) if passed and normalized.truncated else None
                return f"{notice}\n{passed}" if notice else passed
        collector = CollectingOutputChannel()
        message = UserMessage(
            text, collector, phone, input_channel=self.name(), message_id=entry.key, metadata=metadata
        )
        await on_new_message(message)
        await self.turn_said(phone, marked, collector.messages)
        reply = render_reply(collector.messages)
        if reply and normalized.truncated:
            reply = f"{texts.TRUNCATED.format(limit=MAX_CHARS)}\n{reply}"
        return reply

    def deliver_sync(self, recipient: str, text: str, dedup_key: str) -> None:
        """Send `text` to the phone by SMS through the outbox (the notifier applies the limits)."""
        self.push_reply_sync({"phone": recipient}, text, dedup_key)
