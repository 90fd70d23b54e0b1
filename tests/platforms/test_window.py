"""The per-customer 48 h / 5-message window kept in Redis (RELIABILITY B.1, rows 26-27)."""

from __future__ import annotations

import secrets

from redis import Redis

from platforms.wechat.window import CustomerServiceWindow


def window(redis: Redis) -> CustomerServiceWindow:
    return CustomerServiceWindow(redis, "wx" + secrets.token_hex(6))


def test_a_message_opens_five_slots_for_48_hours(redis: Redis) -> None:
    w = window(redis)
    w.opened("o_a", by_message=True, now=1000)
    assert [w.try_consume("o_a", now=1001) for _ in range(6)] == [True] * 5 + [False]
    w.opened("o_a", by_message=True, now=2000)  # the customer writes again: a fresh window
    assert w.remaining("o_a", now=2001) == 5
    assert w.try_consume("o_a", now=2000 + 48 * 3600 + 1) is False


def test_nothing_before_the_customer_acts(redis: Redis) -> None:
    assert window(redis).try_consume("o_never") is False


def test_a_click_opens_three_slots_for_a_minute_unless_a_message_window_is_open(redis: Redis) -> None:
    w = window(redis)
    w.opened("o_b", by_message=False, now=1000)
    assert [w.try_consume("o_b", now=1010) for _ in range(4)] == [True, True, True, False]
    w.opened("o_b", by_message=False, now=1100)
    assert w.try_consume("o_b", now=1161) is False
    w.opened("o_b", by_message=True, now=1200)
    w.opened("o_b", by_message=False, now=1201)  # does not shrink the message window
    assert w.remaining("o_b", now=1202) == 5


def test_close_after_45015(redis: Redis) -> None:
    w = window(redis)
    w.opened("o_c", by_message=True)
    w.close("o_c")
    assert w.try_consume("o_c") is False


def test_redis_down_lets_the_platform_decide() -> None:
    dead = Redis.from_url("redis://127.0.0.1:9/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    w = window(dead)
    w.opened("o_d", by_message=True)
    assert w.try_consume("o_d") is True
