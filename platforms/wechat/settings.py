"""The WeChat channel's settings, from the environment (credentials.yml values take precedence)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from platforms.settings import flag, required, setting
from platforms.wechat.client import DEFAULT_BASE_URL
from platforms.wechat.protocol import CallbackGate


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
        """Raises ValueError when a setting is missing, and when no AES key is set unless plaintext
        callbacks are explicitly allowed (`WECHAT_ALLOW_PLAINTEXT=1`): a plaintext signature does not
        cover the body, so anyone holding one signed URL could post any message (RELIABILITY row 7)."""
        if not setting(credentials, "WECHAT_AES_KEY") and not flag("WECHAT_ALLOW_PLAINTEXT"):
            raise ValueError("WECHAT_AES_KEY is not set; set WECHAT_ALLOW_PLAINTEXT=1 to accept plaintext callbacks")
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
