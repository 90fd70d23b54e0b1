"""The Rasa input channel for grid workers on WeCom (`/webhooks/wecom/webhook`).

Same ack path as the WeChat channel (see bot_runtime/channels/wechat.py) with WeCom's scheme: every
callback is encrypted with the corp id as receive id and signed with `msg_signature`, the URL check
returns the decrypted `echostr`. Workers' text, photos, locations and task-card buttons
(`accept_task:QX…`) become Rasa turns; replies go out as app messages (per-member limits and
duplicate check in WeComClient), or to the push pipeline when WeCom refuses or is unreachable.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import OutputChannel
from redis import Redis

from bot_runtime.channels.wechat import PlatformInput, PlatformOutput, make_redis
from bot_runtime.inbound_queue import InboundQueue
from clients.backend import BackendClient
from platforms.wechat.client import mask_id
from platforms.wechat.errors import PlatformError
from platforms.wechat.messages import Turn, wecom_turn
from platforms.wechat.protocol import CallbackGate, Inbound
from platforms.wecom.client import WeComClient
from platforms.wecom.settings import WeComSettings

logger = logging.getLogger(__name__)


class WeComOutput(PlatformOutput):
    @classmethod
    def name(cls) -> str:
        return "wecom"


class WeComInput(PlatformInput):
    @classmethod
    def name(cls) -> str:
        return "wecom"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WeComInput:
        settings = WeComSettings.load(credentials)
        redis = make_redis(settings.redis_url)
        client = WeComClient(settings.corp_id, settings.agent_id, settings.secret, settings.api_base_url, redis)
        backend = BackendClient(settings.backend_url, settings.actions_token)
        return cls(settings.gate(), InboundQueue(), redis, backend, client)

    def __init__(
        self, gate: CallbackGate, queue: InboundQueue, redis: Redis, backend: BackendClient, client: WeComClient
    ) -> None:
        super().__init__(gate, queue, redis, backend)
        self.client = client

    def get_output_channel(self) -> OutputChannel:
        return WeComOutput(self)

    def turn_for(self, inbound: Inbound) -> Turn:
        return wecom_turn(inbound)

    def deliver_sync(self, recipient: str, text: str, dedup_key: str) -> None:
        try:
            self.client.send_text(recipient, text)
            return
        except PlatformError as exc:
            logger.warning("WeCom send to %s failed (%s): using the push pipeline", mask_id(recipient), exc)
        self.push_reply_sync({"wecom_user_id": recipient}, text, dedup_key)
