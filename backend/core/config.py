"""Settings of the app-env processes, read from the environment (and `.env` if present); a value may
also be read from the file named by `<NAME>_FILE` (how a deployment mounts its secrets)."""

from __future__ import annotations

import os
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

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
    #: every service standard warns the person responsible once this share of its time is used
    #: (业扩: of the stage's working days)
    sla_warning_share: float = Field(default=0.8, gt=0, lt=1)
    #: a promise missed: the customer is told a new estimate this share of the standard's time away
    sla_new_estimate_share: float = Field(default=0.5, gt=0, le=2)
    #: WeCom user ids of the duty dispatchers (值班调度), told of every breach (comma-separated)
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

    @field_validator("powerdesk_admin_token", "powerdesk_actions_token", "powerdesk_worker_token")
    @classmethod
    def _refuse_placeholders(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; set a real random secret")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]
