"""Fixtures for the platform tests: a running simulator of WeChat, WeCom and the SMS providers, and
a real Redis (db 15 here)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis import Redis

from simulator.app import create_app
from simulator.settings import SimulatorSettings
from tests.support.keys import new_aes_key
from tests.support.servers import serve


@dataclass
class Simulator:
    url: str
    app: Any
    settings: SimulatorSettings

    @property
    def state(self) -> Any:
        return self.app.state.platform


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url, socket_timeout=2, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    settings = SimulatorSettings(
        wechat_app_id="wx" + secrets.token_hex(8),
        wechat_app_secret=secrets.token_hex(16),
        wechat_token=secrets.token_hex(8),
        wechat_aes_key=new_aes_key(),
        wecom_corp_id="ww" + secrets.token_hex(8),
        wecom_agent_id="1000002",
        wecom_secret=secrets.token_hex(16),
        wecom_token=secrets.token_hex(8),
        wecom_aes_key=new_aes_key(),
        rasa_url="http://127.0.0.1:9",
        delivery_timeout=1.0,
    )
    app = create_app(settings)
    with serve(app) as url:
        yield Simulator(url, app, settings)
