"""The notifier's settings: where to send (WeChat, WeCom, SMS) and how hard to try."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from backend.core.config import ROOT, DatabaseSettings


class NotifierSettings(DatabaseSettings):
    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore", env_ignore_empty=True)

    redis_url: str = "redis://127.0.0.1:6379/0"

    sms_provider: Literal["aliyun", "tencent"] = "aliyun"
    #: https://dysmsapi.aliyuncs.com or https://sms.tencentcloudapi.com; the simulator in development
    sms_api_base_url: str = ""
    sms_access_key_id: str = ""
    sms_access_key_secret: str = ""
    sms_sign_name: str = "国网客服"
    sms_sdk_app_id: str = ""  # Tencent only
    sms_region: str = "ap-guangzhou"  # Tencent only
    #: our template key → the provider's approved template code (JSON); unmapped keys are sent as is
    sms_template_codes: dict[str, str] = Field(default_factory=dict)
    #: per-phone daily cap (default: Aliyun 50 per template, Tencent 10)
    sms_daily_limit: int | None = None

    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    #: the approved "service progress" template: thing1, character_string2, time3, thing4
    wechat_notice_template_id: str = ""

    wecom_corp_id: str = ""
    wecom_agent_id: str = ""
    wecom_secret: str = ""
    wecom_api_base_url: str = "https://qyapi.weixin.qq.com"

    quiet_hours_start: time = time(22, 0)
    quiet_hours_end: time = time(7, 0)

    notifier_batch_size: int = 200
    notifier_threads: int = 16
    notifier_poll_seconds: float = 2.0
    notifier_claim_seconds: float = 120.0
    notifier_max_attempts: int = 8
    notifier_backoff_base_seconds: float = 5.0
    notifier_backoff_max_seconds: float = 1800.0
    #: how often the notifier runs the backend's escalation of unaccepted tickets (0: never)
    notifier_escalation_seconds: float = 30.0
    #: how often it runs the backend's slower checks: 业扩 stage limits, arrears reminders (0: never)
    notifier_reminder_seconds: float = 300.0
    #: how often it checks the service standards counted in minutes: arrival, restoration, complaints,
    #: outage notices (0: never)
    notifier_sla_seconds: float = 30.0
    #: port of the notifier's Prometheus listener (`/metrics`); 0: none. Several notifiers on one
    #: machine each need their own.
    notifier_metrics_port: int = Field(default=0, ge=0, le=65535)
    notifier_metrics_host: str = "127.0.0.1"
    #: how often it reports customers waiting too long for a person to the duty supervisor (0: never)
    notifier_handoff_alert_seconds: float = 30.0
    #: how often it starts announced outages at their time and asks for estimates that have passed
    notifier_outage_lifecycle_seconds: float = 30.0
    #: at most how often it applies the device events the backend stored (it is woken when one is)
    notifier_device_event_seconds: float = 1.0


@lru_cache
def get_notifier_settings() -> NotifierSettings:
    return NotifierSettings()
