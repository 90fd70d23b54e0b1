"""A simulator (SMS gateway, WeChat, WeCom) served on a free port and notifiers pointed at it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.redis import connect
from backend.notifications.models import OutboxMessage
from backend.notifications.settings import NotifierSettings
from backend.notifications.worker import Notifier, build_senders
from simulator.app import create_app
from simulator.settings import SimulatorSettings
from tests.support.servers import serve

NOTICE_TEMPLATE_ID = "tpl_service_progress"


@dataclass
class Simulator:
    url: str
    app: Any
    settings: SimulatorSettings

    @property
    def sms(self) -> list[Any]:
        return list(self.app.state.sms_gateway.sent) if hasattr(self.app.state, "sms_gateway") else []

    def wechat_calls(self, api: str) -> list[dict[str, Any]]:
        return [r for r in self.app.state.platform.records if r.get("platform") == "wechat" and r.get("api") == api]

    def wecom_calls(self) -> list[dict[str, Any]]:
        return [r for r in self.app.state.platform.records if r.get("platform") == "wecom"]


@contextmanager
def simulator(rasa_url: str = "http://127.0.0.1:9") -> Iterator[Simulator]:
    """The simulator; customers' messages are posted to `rasa_url` (nowhere by default)."""
    settings = SimulatorSettings(
        wechat_app_id="wx" + secrets.token_hex(8),
        wechat_app_secret=secrets.token_hex(16),
        wecom_corp_id="ww" + secrets.token_hex(8),
        wecom_agent_id="1000002",
        wecom_secret=secrets.token_hex(16),
        rasa_url=rasa_url,
    )
    app = create_app(settings)
    with serve(app) as url:
        yield Simulator(url, app, settings)


def notifier_settings(db_url: str, redis_url: str, sim: Simulator, **overrides: Any) -> NotifierSettings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "redis_url": redis_url,
        "sms_provider": "aliyun",
        "sms_api_base_url": sim.url,
        "sms_access_key_id": "test-access-key",
        "sms_access_key_secret": "test-access-secret",
        "sms_sdk_app_id": "1400000001",
        "wechat_app_id": sim.settings.wechat_app_id,
        "wechat_app_secret": sim.settings.wechat_app_secret,
        "wechat_api_base_url": sim.url,
        "wechat_notice_template_id": NOTICE_TEMPLATE_ID,
        "wecom_corp_id": sim.settings.wecom_corp_id,
        "wecom_agent_id": sim.settings.wecom_agent_id,
        "wecom_secret": sim.settings.wecom_secret,
        "wecom_api_base_url": sim.url,
        "notifier_backoff_base_seconds": 0.05,
        "notifier_backoff_max_seconds": 0.2,
        "notifier_escalation_seconds": 0,
        # Tests run at any hour: quiet hours are tested on their own.
        "quiet_hours_start": "00:00",
        "quiet_hours_end": "00:00",
    }
    return NotifierSettings(**(values | overrides))


def make_notifier(factory: sessionmaker[Session], settings: NotifierSettings) -> Notifier:
    redis = connect(settings.redis_url, timeout=1.0)
    return Notifier(factory, build_senders(settings, redis), settings)


def drain(notifier: Notifier, factory: sessionmaker[Session], *, rounds: int = 50, pause: float = 0.06) -> None:
    """Run rounds until no row is pending and due (waiting out short backoffs)."""
    for _ in range(rounds):
        if notifier.run_once() == 0:
            with factory() as session:
                if not session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending")).first():
                    return
            time.sleep(pause)


def rows(factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with factory() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
