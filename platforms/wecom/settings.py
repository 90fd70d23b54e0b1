"""The WeCom channel's settings, from the environment (credentials.yml values take precedence)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from platforms.settings import required, setting
from platforms.wechat.protocol import CallbackGate
from platforms.wecom.client import DEFAULT_BASE_URL


@dataclass(frozen=True)
class WeComSettings:
    corp_id: str
    agent_id: str
    secret: str
    token: str
    aes_key: str
    api_base_url: str
    redis_url: str
    backend_url: str
    actions_token: str

    @classmethod
    def load(cls, credentials: Mapping[str, Any] | None = None) -> WeComSettings:
        return cls(
            corp_id=required(credentials, "WECOM_CORP_ID"),
            agent_id=required(credentials, "WECOM_AGENT_ID"),
            secret=required(credentials, "WECOM_SECRET"),
            token=required(credentials, "WECOM_TOKEN"),
            aes_key=required(credentials, "WECOM_AES_KEY"),
            api_base_url=setting(credentials, "WECOM_API_BASE_URL", DEFAULT_BASE_URL),
            redis_url=setting(credentials, "REDIS_URL", "redis://127.0.0.1:6379/0"),
            backend_url=setting(credentials, "BACKEND_URL", "http://127.0.0.1:8000"),
            actions_token=required(credentials, "POWERDESK_ACTIONS_TOKEN"),
        )

    def gate(self) -> CallbackGate:
        """The check every callback of this WeCom app passes (the channel's and the gateway's)."""
        return CallbackGate(
            token=self.token,
            aes_keys=[self.aes_key],
            receive_id=self.corp_id,
            key_prefix=f"wecom:{self.corp_id}:{self.agent_id}",
            enterprise=True,
        )
