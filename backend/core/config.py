"""Settings of the app-env processes, read from the environment (and `.env` if present)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path

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
    #: the metering and distribution-automation systems posting device events (optional: when
    #: unset, only the admin token may post them)
    powerdesk_integration_token: str | None = Field(default=None, min_length=16)

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

    # Fault diagnosis (研判, DESIGN "Wave 2"): reports from this many distinct customers of one
    # transformer within the window make a suspected transformer fault; suspected faults on this
    # many transformers of one feeder within the window make a suspected feeder fault.
    fault_cluster_min_reports: int = Field(default=3, ge=2)
    fault_cluster_window_minutes: int = Field(default=15, ge=1)
    fault_cluster_min_transformers: int = Field(default=2, ge=2)
    #: this many meters of one transformer losing power within this many seconds count as the
    #: transformer losing power (主动抢修)
    device_meter_cluster_min: int = Field(default=3, ge=2)
    device_meter_window_seconds: int = Field(default=60, ge=1)
    #: a device event may carry a time this far ahead of ours (the systems' clocks drift); later is refused
    device_event_max_skew_seconds: int = Field(default=60, ge=0)
    #: a question a push asked (回复1已来电…) can be answered by a bare digit for this many days
    prompt_open_days: int = Field(default=7, ge=1)
    #: after a resolved ticket the customer is asked whether power is back at once, and for a rating
    #: this long after (unless their answer came first: then the chat asks it)
    rating_request_delay_minutes: int = Field(default=120, ge=0)
    #: WeCom user ids of the duty dispatchers (调度值班), comma-separated: asked for a new estimate
    #: when an outage overruns it, alerted of a hazard nobody could be placed for. Unset: the
    #: supervisors of the cells concerned
    duty_dispatcher_wecom_ids: str = ""
    #: a hazard reported at a spot farther than this from every transformer is not placed by it
    hazard_max_distance_km: float = Field(default=5.0, gt=0)

    @field_validator(
        "powerdesk_admin_token", "powerdesk_actions_token", "powerdesk_worker_token", "powerdesk_integration_token"
    )
    @classmethod
    def _refuse_placeholders(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; set a real random secret")
        return value

    @property
    def duty_dispatchers(self) -> list[str]:
        return [user for user in (part.strip() for part in self.duty_dispatcher_wecom_ids.split(",")) if user]


@lru_cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]
