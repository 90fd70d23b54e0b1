"""Settings of the app-env processes, read from the environment (and `.env` if present)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "token"}


class DatabaseSettings(BaseSettings):
    """What migrations and the seeder need: only where the database is."""

    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore", env_ignore_empty=True)

    database_url: str = f"sqlite:///{ROOT / 'var' / 'powerdesk.db'}"


class Settings(DatabaseSettings):
    redis_url: str = "redis://127.0.0.1:6379/0"
    timezone: str = "Asia/Shanghai"

    # Bearer tokens between processes. Each must be set; placeholders are refused.
    powerdesk_admin_token: str = Field(min_length=16)
    powerdesk_actions_token: str = Field(min_length=16)
    powerdesk_worker_token: str = Field(min_length=16)

    # Service standards (DESIGN "Service standards"), minutes unless named otherwise.
    arrival_minutes_urban: int = 45
    arrival_minutes_rural: int = 90
    arrival_minutes_remote: int = 120
    restore_hours_urban: int = 3
    restore_hours_rural: int = 4
    complaint_contact_hours: int = 24
    complaint_answer_working_days: int = 4
    accept_escalation_minutes: int = 10
    #: a ticket reported in a chat is confirmed by the bot's reply there; its "dispatched" push to
    #: the customer waits this long, so that it arrives after that reply, not before it
    chat_confirmation_hold_seconds: int = Field(default=15, ge=0)
    #: an open application (业扩) is at risk, and its customer manager warned, once this share of its
    #: time limit's working days is used
    application_at_risk_share: float = Field(default=0.8, gt=0, le=1)
    #: bills that fell due within this many days get an arrears reminder; older arrears are not
    #: reminded of anew (the arrears process takes them)
    arrears_reminder_days: int = Field(default=30, ge=1)
    quiet_hours_start: time = time(22, 0)
    quiet_hours_end: time = time(7, 0)

    # Staff console and hand-offs to people (人工坐席), docs/adr/draft-staff-console.md.
    #: a console session ends after this long without a request, and in any case after the maximum
    staff_session_idle_minutes: int = Field(default=120, ge=1)
    staff_session_max_hours: int = Field(default=12, ge=1)
    #: the session cookie is sent over HTTPS only (set it behind the production reverse proxy)
    staff_cookie_secure: bool = False
    #: failed sign-ins in a row that lock the account for `staff_lock_minutes`
    staff_signin_max_failures: int = Field(default=5, ge=1)
    staff_lock_minutes: int = Field(default=15, ge=1)
    #: an agent counts as online while their console's live stream was seen within this many seconds
    staff_presence_seconds: int = Field(default=60, ge=10)
    #: the hours in which people answer in chat (Asia/Shanghai, every day)
    handoff_hours_start: time = time(8, 0)
    handoff_hours_end: time = time(20, 0)
    #: conversations one agent handles at once
    handoff_agent_concurrency: int = Field(default=3, ge=1)
    #: the handling time assumed for wait estimates until conversations of the last day give one
    handoff_default_handle_minutes: int = Field(default=6, ge=1)
    #: the duty supervisor is told (WeCom) of customers waiting longer than this
    handoff_wait_alert_minutes: int = Field(default=5, ge=1)
    #: WeChat customers go to the console ("console") or to the official account's own
    #: customer-service system ("wechat_kf", kf sessions created through its API)
    handoff_wechat_delivery: Literal["console", "wechat_kf"] = "console"
    #: a callback is made within this many minutes of service hours (DESIGN service standards)
    callback_contact_minutes: int = Field(default=120, ge=1)
    #: how often a console's live stream looks for changes
    console_stream_poll_seconds: float = Field(default=1.0, gt=0)
    #: the official account, for the kf sessions of `handoff_wechat_delivery=wechat_kf`
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_api_base_url: str = "https://api.weixin.qq.com"

    @field_validator("powerdesk_admin_token", "powerdesk_actions_token", "powerdesk_worker_token")
    @classmethod
    def _refuse_placeholders(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; set a real random secret")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]
