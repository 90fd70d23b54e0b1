"""Settings of the app-env processes, read from the environment (and `.env` if present); a value may
also be read from the file named by `<NAME>_FILE` (how a deployment mounts its secrets)."""

from __future__ import annotations

import os
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "token"}


class FileSecrets(PydanticBaseSettingsSource):
    """`<NAME>_FILE=/path`: the setting `name` is the file's content (after the environment and .env)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path = os.environ.get(f"{field_name.upper()}_FILE")
        return (Path(path).read_text(encoding="utf-8").strip() if path else None), field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {}
        for name, field in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(field, name)
            if value:
                found[name] = value
        return found


class DatabaseSettings(BaseSettings):
    """What migrations and the seeder need: only where the database is."""

    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore", env_ignore_empty=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, dotenv_settings, FileSecrets(settings_cls)

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
    #: every service standard warns the person responsible once this share of its time is used
    #: (业扩: of the stage's working days)
    sla_warning_share: float = Field(default=0.8, gt=0, lt=1)
    #: a promise missed: the customer is told a new estimate this share of the standard's time away
    sla_new_estimate_share: float = Field(default=0.5, gt=0, le=2)
    #: WeCom user ids of the duty dispatchers (值班调度, comma-separated): told of every breach, asked
    #: for a new estimate when an outage overruns it, alerted of a hazard nobody could be placed for
    #: (unset: the supervisors of the cells concerned)
    duty_dispatcher_wecom_ids: Annotated[list[str], NoDecode] = []
    #: 业扩 working days per application type and stage, over the defaults of
    #: backend/applications/stages.py, as JSON: {"high_voltage_single": {"plan_reply": 8}}
    application_stage_days: dict[str, dict[str, int]] = {}
    #: planned and temporary outages are announced this far ahead (DESIGN: 7 days / 24 h)
    outage_notice_days_planned: int = Field(default=7, ge=0)
    outage_notice_hours_temporary: int = Field(default=24, ge=0)
    #: an announced outage's notices not all sent this long after they fell due break the standard
    outage_notice_grace_minutes: int = Field(default=30, ge=1)
    #: China's holiday table for a year the chinese-calendar package does not carry yet (JSON;
    #: backend/core/workdays.py)
    working_calendar_file: Path | None = None
    #: bills that fell due within this many days get an arrears reminder; older arrears are not
    #: reminded of anew (the arrears process takes them)
    arrears_reminder_days: int = Field(default=30, ge=1)
    quiet_hours_start: time = time(22, 0)
    quiet_hours_end: time = time(7, 0)
    #: the largest request body any route reads (checked before authentication)
    backend_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    @field_validator("duty_dispatcher_wecom_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    # Staff console and hand-offs to people (人工坐席), docs/adr/0008-staff-console.md.
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
        return list(self.duty_dispatcher_wecom_ids)


@lru_cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]
