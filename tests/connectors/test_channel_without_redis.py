"""Redis unreachable (RELIABILITY row 45/46): Redis is a speed-up, never the record. The channels
still ack at once (the ack path never touches Redis), run the turn and deliver the reply, with
the access token and the window kept per process."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.connectors.channel_stack import ChannelStack, start_channel_stack

DEAD_REDIS = "redis://127.0.0.1:9/0"


@pytest.fixture(scope="module")
def no_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    yield from start_channel_stack(tmp_path_factory.mktemp("no-redis"), DEAD_REDIS)


def test_wechat_message_is_acked_answered_and_deduplicated_without_redis(no_redis: ChannelStack) -> None:
    path = f"{no_redis.simulator_url}/sim/wechat/users/o_no_redis_01/send"
    started = time.monotonic()
    answer = httpx.post(path, params={"wait": "true"}, json={"type": "text", "content": "电费"}, timeout=30)
    assert answer.json()["answer"] == "success" and time.monotonic() - started < 3
    sent = no_redis.wait_for("custom_send", "o_no_redis_01")
    assert "128.50" in sent[0]["content"] and sent[0]["errcode"] == 0


def test_wecom_reply_without_redis(no_redis: ChannelStack) -> None:
    path = f"{no_redis.simulator_url}/sim/wecom/users/wg_no_redis_01/send"
    httpx.post(path, params={"wait": "true"}, json={"type": "text", "content": "接单"}, timeout=30)
    assert no_redis.wait_for("message_send", "wg_no_redis_01")[0]["content"] == "已确认接单。"
