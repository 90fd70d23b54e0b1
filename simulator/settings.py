"""The simulator's settings: the same variables the channels read, so both sides share the secrets."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@dataclass(frozen=True)
class SimulatorSettings:
    wechat_app_id: str = field(default_factory=lambda: _env("WECHAT_APP_ID", "wx_simulated_app"))
    wechat_app_secret: str = field(default_factory=lambda: _env("WECHAT_APP_SECRET", "simulated-secret"))
    wechat_token: str = field(default_factory=lambda: _env("WECHAT_TOKEN", "simulated-token"))
    wechat_aes_key: str = field(default_factory=lambda: _env("WECHAT_AES_KEY"))
    #: the official account's original id (gh_...), the ToUserName of customers' messages
    wechat_account: str = field(default_factory=lambda: _env("WECHAT_ACCOUNT_ID", "gh_powerdesk95598"))
    wecom_corp_id: str = field(default_factory=lambda: _env("WECOM_CORP_ID", "ww_simulated_corp"))
    wecom_agent_id: str = field(default_factory=lambda: _env("WECOM_AGENT_ID", "1000002"))
    wecom_secret: str = field(default_factory=lambda: _env("WECOM_SECRET", "simulated-wecom-secret"))
    wecom_token: str = field(default_factory=lambda: _env("WECOM_TOKEN", "simulated-wecom-token"))
    wecom_aes_key: str = field(default_factory=lambda: _env("WECOM_AES_KEY"))
    #: where the channels listen (the rasa server); webhooks are `/webhooks/<channel>/webhook`
    rasa_url: str = field(default_factory=lambda: _env("RASA_URL", "http://127.0.0.1:5005"))
    #: where WeChat and WeCom post their callbacks: the webhook gateway, else the rasa server
    gateway_url: str = field(default_factory=lambda: _env("GATEWAY_URL"))
    backend_url: str = field(default_factory=lambda: _env("BACKEND_URL", "http://127.0.0.1:8000"))
    admin_token: str = field(default_factory=lambda: _env("POWERDESK_ADMIN_TOKEN"))
    #: seconds WeChat waits for an answer before retrying, and how many deliveries it makes
    delivery_timeout: float = 5.0
    delivery_attempts: int = 3
    #: daily `/cgi-bin/token` quota (2000 for a new account)
    token_daily_quota: int = 2000

    @property
    def wechat_webhook(self) -> str:
        return (self.gateway_url or self.rasa_url).rstrip("/") + "/webhooks/wechat/webhook"

    @property
    def wecom_webhook(self) -> str:
        return (self.gateway_url or self.rasa_url).rstrip("/") + "/webhooks/wecom/webhook"
