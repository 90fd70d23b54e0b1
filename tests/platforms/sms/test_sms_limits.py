"""Per-phone limits in Redis, and in the process when Redis is down."""

from __future__ import annotations

import secrets
from datetime import datetime

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from platforms.sms.limits import LOCAL_ZONE, PhoneLimiter
from platforms.sms.segments import count_segments


def phone() -> str:
    return "139" + str(secrets.randbelow(10**8)).zfill(8)


def test_aliyun_allows_50_a_day_per_template(redis):
    limiter, number, now = PhoneLimiter(redis, "aliyun"), phone(), 1_800_000_000.0
    assert all(limiter.reserve(number, "ticket_accepted", f"t{n}", now + n) == 0 for n in range(50))
    wait = limiter.reserve(number, "ticket_accepted", "t50", now + 100)
    assert 24 * 3600 - 101 < wait <= 24 * 3600 - 100
    assert limiter.reserve(number, "outage_started", "other template", now + 100) == 0
    assert limiter.reserve(number, "ticket_accepted", "next day", now + 24 * 3600 + 1) == 0


def test_tencent_allows_10_per_natural_day_and_same_content_once_per_30_s(redis):
    limiter, number = PhoneLimiter(redis, "tencent"), phone()
    morning = datetime(2026, 11, 22, 8, 0, tzinfo=LOCAL_ZONE).timestamp()
    assert limiter.reserve(number, "tpl", "same text", morning) == 0
    assert limiter.reserve(number, "tpl", "same text", morning + 1) == 29
    assert all(limiter.reserve(number, "tpl", f"text {n}", morning + 2 + n) == 0 for n in range(9))
    wait = limiter.reserve(number, "tpl", "eleventh", morning + 60)
    assert wait == datetime(2026, 11, 23, 0, 0, tzinfo=LOCAL_ZONE).timestamp() - (morning + 60)
    assert limiter.reserve(number, "tpl", "after midnight", morning + 16 * 3600 + 1) == 0


def test_without_redis_the_limits_hold_in_the_process():
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2, retry=Retry(NoBackoff(), 0))
    limiter, number = PhoneLimiter(dead, "tencent", per_day=2), phone()
    assert limiter.reserve(number, "tpl", "a", 1_800_000_000.0) == 0
    assert limiter.reserve(number, "tpl", "a", 1_800_000_001.0) > 0
    assert limiter.reserve(number, "tpl", "b", 1_800_000_002.0) == 0
    assert limiter.reserve(number, "tpl", "c", 1_800_000_003.0) > 0


def test_segments_count_the_signature_then_67_per_segment():
    assert count_segments("字" * 64, "国网客服") == 1  # 6 + 64 = 70
    assert count_segments("字" * 65, "国网客服") == 2  # 71 → 67 + 4
    assert count_segments("字" * 154, "国网客服") == 3  # 160 = 67 + 67 + 26
