"""Redis unreachable (RELIABILITY rows 45/46): the inbound queue lives in Redis, so a rasa server
that cannot reach it acknowledges nothing it could lose. WeChat is answered 503 at once (well inside
its 5 s) and retries the callback; the channel's readiness check says why; nothing is half-taken."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.bot_runtime.channel_stack import ChannelStack, start_channel_stack

DEAD_REDIS = "redis://127.0.0.1:9/0"


@pytest.fixture(scope="module")
def no_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    yield from start_channel_stack(tmp_path_factory.mktemp("no-redis"), DEAD_REDIS, ready_path="/")


def test_a_message_is_refused_with_503_for_the_platform_to_retry_and_never_acked(no_redis: ChannelStack) -> None:
    xml = (
        "<xml><ToUserName>gh</ToUserName><FromUserName>o_no_redis_01</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>text</MsgType><Content>电费</Content>"
        "<MsgId>700000001</MsgId></xml>"
    )
    url, body = no_redis.wechat_peer.signed_request(xml)
    started = time.monotonic()
    answer = httpx.post(url, content=body, timeout=10, headers={"Content-Type": "text/xml"})
    assert (answer.status_code, answer.text) == (503, "temporarily unavailable")
    assert time.monotonic() - started < 2
    assert no_redis.records("custom_send", "o_no_redis_01") == []


def test_the_readiness_check_says_why_no_message_is_taken(no_redis: ChannelStack) -> None:
    for channel in ("wechat", "wecom"):
        answer = httpx.get(f"{no_redis.rasa_url}/webhooks/{channel}/", timeout=10)
        assert answer.status_code == 503
        assert answer.json() == {"status": "unavailable", "reason": "Redis unreachable: ConnectionError"}
