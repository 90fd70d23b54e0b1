"""The WeCom client against the simulator's fake qyapi (RELIABILITY rows 31-32)."""

from __future__ import annotations

import secrets

import pytest

from platforms.wechat.errors import MemberRateLimited
from platforms.wecom.client import WeComClient, cut_bytes
from platforms.wecom.limits import MemberRateLimiter
from tests.platforms.conftest import Simulator


def make_client(simulator: Simulator, redis) -> WeComClient:
    s = simulator.settings
    return WeComClient(s.wecom_corp_id, s.wecom_agent_id, s.wecom_secret, simulator.url, redis)


def deliveries(simulator: Simulator, user: str) -> list[dict]:
    return [r for r in simulator.state.records if r["api"] == "message_send" and r["to"] == user]


def test_text_card_carries_the_task(simulator: Simulator, redis) -> None:
    client = make_client(simulator, redis)
    client.send_text_card(
        "wg_zhang_01", "新抢修任务 QX202611220001", "地址：城关镇幸福路12号\n客户电话：138****5678\n"
        "到达时限：今天14:30\n回复“接单”确认", "https://example.invalid/t/QX202611220001",
    )  # fmt: skip
    record = deliveries(simulator, "wg_zhang_01")[-1]
    assert record["status"] == "delivered" and record["msgtype"] == "textcard"
    assert "QX202611220001" in record["content"] and "138****5678" in record["content"]


def test_card_fields_are_cut_to_wecom_byte_limits() -> None:
    cut = cut_bytes("停电" * 100, 128)
    assert len(cut.encode()) <= 128 and cut.endswith("…")
    assert cut_bytes("短标题", 128) == "短标题"


def test_row32_a_retried_send_is_not_delivered_twice(simulator: Simulator, redis) -> None:
    client = make_client(simulator, redis)
    client.send_text("wg_li_02", "工单QX202611220002已派发给您")
    client.send_text("wg_li_02", "工单QX202611220002已派发给您")  # the retry after a lost answer
    assert [r["status"] for r in deliveries(simulator, "wg_li_02")] == ["delivered", "duplicate"]


def test_row31_over_30_a_minute_is_held_back_not_dropped(simulator: Simulator, redis) -> None:
    client = make_client(simulator, redis)
    for n in range(30):
        client.send_text("wg_wang_03", f"任务{n}")
    with pytest.raises(MemberRateLimited) as caught:
        client.send_text("wg_wang_03", "任务30")
    assert 0 < caught.value.retry_after <= 60
    statuses = [r["status"] for r in deliveries(simulator, "wg_wang_03")]
    assert statuses == ["delivered"] * 30  # nothing reached WeCom to be dropped silently


def test_row31_hour_limit_and_sliding_minute(redis) -> None:
    limiter = MemberRateLimiter(redis, "ww" + secrets.token_hex(4), "1000002", per_minute=30, per_hour=1000)
    start = 1_700_000_000.0
    sent = 0
    for minute in range(40):
        for _ in range(30):
            if limiter.reserve("wg_zhao_04", now=start + minute * 61) == 0:
                sent += 1
    assert sent == 1000
    wait = limiter.reserve("wg_zhao_04", now=start + 39 * 61 + 1)
    assert wait > 0
    assert limiter.reserve("wg_zhao_04", now=start + 3600 + 1) == 0  # the oldest left the hour


def test_limiter_keeps_limiting_without_redis() -> None:
    from redis import Redis

    dead = Redis.from_url("redis://127.0.0.1:9/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    limiter = MemberRateLimiter(dead, "ww_test", "1000002", per_minute=3)
    assert [limiter.reserve("wg_a", now=100.0 + i) for i in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.reserve("wg_a", now=104.0) == pytest.approx(56.0)
