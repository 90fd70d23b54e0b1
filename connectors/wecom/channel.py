"""The Rasa input channel for grid workers on WeCom (`/webhooks/wecom/webhook`).

Same ack path as the WeChat channel (see connectors/wechat/channel.py) with WeCom's scheme: every
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

from connectors.inbound_queue import InboundQueue
from connectors.wechat.channel import PlatformInput, PlatformOutput, make_redis
from connectors.wechat.client import mask_id
from connectors.wechat.errors import PlatformError
from connectors.wechat.messages import Turn, wecom_turn
from connectors.wechat.protocol import CallbackGate, Inbound
from connectors.wechat.push import PushPipeline
from connectors.wecom.client import WeComClient
from connectors.wecom.settings import WeComSettings

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
        push = PushPipeline(settings.backend_url, settings.actions_token)
        return cls(settings.gate(), InboundQueue(), redis, push, client)

    def __init__(
        self, gate: CallbackGate, queue: InboundQueue, redis: Redis, push: PushPipeline, client: WeComClient
    ) -> None:
        super().__init__(gate, queue, redis, push)
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
        self.hand_to_push({"wecom_user_id": recipient}, text, dedup_key)
