"""The WeChat channel's settings, from the environment (credentials.yml values take precedence)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.wechat.client import DEFAULT_BASE_URL
from connectors.wechat.protocol import CallbackGate


def setting(credentials: Mapping[str, Any] | None, name: str, default: str = "") -> str:
    """`name` (upper-case env variable) from credentials (lower-case key) or the environment."""
    value = (credentials or {}).get(name.lower())
    if value in (None, ""):
        value = os.environ.get(name, default)
    return str(value).strip()


def required(credentials: Mapping[str, Any] | None, name: str) -> str:
    value = setting(credentials, name)
    if not value:
        raise ValueError(f"{name} is not set")
    return value


@dataclass(frozen=True)
class WeChatSettings:
    app_id: str
    app_secret: str
    token: str
    aes_key: str
    aes_key_previous: str
    api_base_url: str
    redis_url: str
    backend_url: str
    actions_token: str

    @classmethod
    def load(cls, credentials: Mapping[str, Any] | None = None) -> WeChatSettings:
        return cls(
            app_id=required(credentials, "WECHAT_APP_ID"),
            app_secret=required(credentials, "WECHAT_APP_SECRET"),
            token=required(credentials, "WECHAT_TOKEN"),
            aes_key=setting(credentials, "WECHAT_AES_KEY"),
            aes_key_previous=setting(credentials, "WECHAT_AES_KEY_PREVIOUS"),
            api_base_url=setting(credentials, "WECHAT_API_BASE_URL", DEFAULT_BASE_URL),
            redis_url=setting(credentials, "REDIS_URL", "redis://127.0.0.1:6379/0"),
            backend_url=setting(credentials, "BACKEND_URL", "http://127.0.0.1:8000"),
            actions_token=required(credentials, "POWERDESK_ACTIONS_TOKEN"),
        )

    def gate(self) -> CallbackGate:
        """The check every callback of this official account passes (the channel's and the gateway's)."""
        return CallbackGate(
            token=self.token,
            aes_keys=[self.aes_key, self.aes_key_previous],
            receive_id=self.app_id,
            key_prefix=f"wx:{self.app_id}",
        )
