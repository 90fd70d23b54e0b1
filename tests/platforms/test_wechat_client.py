"""The WeChat API client against the simulator's fake api.weixin.qq.com (RELIABILITY rows 23-30)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from platforms.wechat.client import WeChatClient, template_value
from platforms.wechat.errors import (
    InvalidCredential,
    InvalidOpenId,
    OutsideWindow,
    PlatformUnavailable,
    QuotaExceeded,
    TokenQuotaExhausted,
    Unfollowed,
    UserRefused,
)
from tests.platforms.conftest import Simulator


def make_client(simulator: Simulator, redis, **kwargs) -> WeChatClient:
    s = simulator.settings
    return WeChatClient(s.wechat_app_id, s.wechat_app_secret, simulator.url, redis, **kwargs)


def custom_sends(simulator: Simulator, openid: str) -> list[dict]:
    return [r for r in simulator.state.records if r["api"] == "custom_send" and r["to"] == openid]


def test_send_text_inside_the_window_is_delivered(simulator: Simulator, redis) -> None:
    simulator.state.user_acted("o_customer_001", by_message=True)
    make_client(simulator, redis).send_text("o_customer_001", "您好，工单已受理 ]]> & <")
    assert custom_sends(simulator, "o_customer_001")[-1]["content"] == "您好，工单已受理 ]]> & <"
    assert custom_sends(simulator, "o_customer_001")[-1]["errcode"] == 0


def test_row26_outside_48h_raises_outside_window_without_retry(simulator: Simulator, redis) -> None:
    simulator.state.user_acted("o_customer_002", by_message=True)
    simulator.state.windows["o_customer_002"].expires = time.time() - 1  # last message 48 h ago
    with pytest.raises(OutsideWindow):
        make_client(simulator, redis).send_text("o_customer_002", "进度更新")
    assert len(custom_sends(simulator, "o_customer_002")) == 1


def test_row27_sixth_message_raises_quota_exceeded(simulator: Simulator, redis) -> None:
    simulator.state.user_acted("o_customer_003", by_message=True)
    client = make_client(simulator, redis)
    for n in range(5):
        client.send_text("o_customer_003", f"第{n + 1}条")
    with pytest.raises(QuotaExceeded):
        client.send_text("o_customer_003", "第6条")


def test_row28_unfollowed_bad_openid_and_refused_template(simulator: Simulator, redis) -> None:
    client = make_client(simulator, redis)
    simulator.state.unfollowed.add("o_customer_004")
    with pytest.raises(Unfollowed):
        client.send_text("o_customer_004", "您好")
    with pytest.raises(InvalidOpenId):
        client.send_text("bad id!", "您好")
    simulator.state.refused_templates.add("o_customer_005")
    with pytest.raises(UserRefused):
        client.send_template("o_customer_005", "tpl_ticket", {"keyword1": "QX202611220001"})
    assert len([r for r in simulator.state.records if r["api"] == "custom_send"]) == 2  # no retries


def test_template_send_returns_msgid_and_row30_cleans_values(simulator: Simulator, redis) -> None:
    msgid = make_client(simulator, redis).send_template(
        "o_customer_006",
        "tpl_ticket",
        {
            "keyword1": "QX202611220001",
            "keyword2": "⚡抢修人员已出发，预计今天14:30前到达现场，请保持电话畅通",
        },
    )
    record = [r for r in simulator.state.records if r["api"] == "template_send"][-1]
    assert record["msgid"] == msgid > 0
    assert "keyword1: QX202611220001" in record["content"]
    value = record["content"].split("keyword2: ")[1]
    assert "⚡" not in value and len(value) == 20 and value.endswith("…")


def test_template_value_strips_emoji_and_keeps_short_values() -> None:
    assert template_value("已恢复供电😀") == "已恢复供电"
    assert template_value("今天14:30") == "今天14:30"


def test_row24_many_workers_with_an_empty_cache_fetch_one_token(simulator: Simulator, redis) -> None:
    simulator.state.user_acted("o_customer_007", by_message=True)
    simulator.state.windows["o_customer_007"].quota = 100
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            make_client(simulator, redis).send_text("o_customer_007", "您好")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert simulator.state.token_calls["stable_token"] == 1
    assert len(custom_sends(simulator, "o_customer_007")) == 12


def test_row23_token_expiring_mid_burst_is_refreshed_once_and_retried_once(simulator: Simulator, redis) -> None:
    simulator.state.user_acted("o_customer_008", by_message=True)
    simulator.state.windows["o_customer_008"].quota = 100
    clients = [make_client(simulator, redis) for _ in range(3)]
    clients[0].send_text("o_customer_008", "第一条")
    simulator.state.expire_tokens()
    for client in clients:
        client.send_text("o_customer_008", "过期后")
    assert simulator.state.token_calls["stable_token"] == 2
    sends = custom_sends(simulator, "o_customer_008")
    assert [r["errcode"] for r in sends] == [0, 42001, 0, 0, 0]


def test_row23_a_token_always_refused_gives_up_after_one_retry(simulator: Simulator, redis) -> None:
    requests.put(f"{simulator.url}/sim/faults", json={"mode": "errcode", "errcode": 40001,
                 "path_prefix": "/cgi-bin/message"}, timeout=5)  # fmt: skip
    with pytest.raises(InvalidCredential):
        make_client(simulator, redis).send_text("o_customer_009", "您好")
    assert simulator.state.token_calls["stable_token"] == 2  # the first fetch and one forced refresh


def test_row25_token_quota_exhausted_opens_the_breaker(simulator: Simulator, redis) -> None:
    requests.put(f"{simulator.url}/sim/faults", json={"mode": "errcode", "errcode": 45009,
                 "path_prefix": "/cgi-bin/stable_token"}, timeout=5)  # fmt: skip
    client = make_client(simulator, redis)
    with pytest.raises(TokenQuotaExhausted):
        client.send_text("o_customer_010", "您好")
    requests.delete(f"{simulator.url}/sim/faults", timeout=5)
    with pytest.raises(TokenQuotaExhausted):  # no new token call while the breaker is open
        make_client(simulator, redis).send_text("o_customer_010", "您好")
    # the faulty answer came from the fault switch; after it was cleared nobody asked again
    assert simulator.state.token_calls["stable_token"] == 0


def test_row29_a_hanging_api_times_out(simulator: Simulator, redis) -> None:
    client = make_client(simulator, redis, timeout=(1.0, 0.5))
    client.tokens.get()
    requests.put(f"{simulator.url}/sim/faults", json={"mode": "slow", "delay": 3,
                 "path_prefix": "/cgi-bin/message"}, timeout=5)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(PlatformUnavailable) as caught:
        client.send_text("o_customer_011", "您好")
    assert time.monotonic() - started < 2.5  # read timeout 0.5 s, the fault sleeps 3 s
    assert caught.value.retryable


def test_row29_http_503_is_platform_unavailable(simulator: Simulator, redis) -> None:
    requests.put(f"{simulator.url}/sim/faults", json={"mode": "fail", "count": 1}, timeout=5)
    with pytest.raises(PlatformUnavailable):
        make_client(simulator, redis).send_text("o_customer_012", "您好")


def test_redis_down_still_sends_with_a_per_process_token(simulator: Simulator) -> None:
    from redis import Redis

    dead = Redis.from_url("redis://127.0.0.1:9/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    simulator.state.user_acted("o_customer_013", by_message=True)
    client = make_client(simulator, dead)
    client.send_text("o_customer_013", "第一条")
    client.send_text("o_customer_013", "第二条")
    assert simulator.state.token_calls["stable_token"] == 1


def test_the_token_never_appears_in_logs(simulator: Simulator, redis, caplog) -> None:
    caplog.set_level("DEBUG")
    simulator.state.user_acted("o_customer_014", by_message=True)
    client = make_client(simulator, redis)
    client.send_text("o_customer_014", "您好")
    token = client.tokens.get()
    assert token not in caplog.text and simulator.settings.wechat_app_secret not in caplog.text
