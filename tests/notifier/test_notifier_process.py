"""The notifier process: killed mid-batch, run twice at once, and without Redis."""

from __future__ import annotations

import time

import httpx
from redis import Redis

from scripts.stack import Stack, base_env, free_port
from tests.notifier.conftest import enqueue_sms, gateway_stats, sent_count, wait_for

TOTAL = 400


def test_killed_mid_batch_then_restarted_delivers_every_push_exactly_once(db, sim, notifiers):
    _, factory = db
    enqueue_sms(factory, TOTAL)
    httpx.put(f"{sim.url}/sim/sms/faults", json={"mode": "slow", "delay": 0.05})
    first = notifiers.start()
    wait_for(lambda: gateway_stats(sim)["accepted"] >= 80, 60, "the first pushes")
    notifiers.kill(first)
    accepted_at_kill = gateway_stats(sim)["accepted"]
    assert accepted_at_kill < TOTAL, "the kill came too late to be mid-batch"
    httpx.put(f"{sim.url}/sim/sms/faults", json={"mode": "none"})
    notifiers.start()
    wait_for(lambda: sent_count(factory) == TOTAL, 90, "every push sent")
    stats = gateway_stats(sim)
    assert (stats["distinct"], stats["accepted"], stats["duplicates"]) == (TOTAL, TOTAL, 0), notifiers.logs()
    print("reconciled after the kill:", notifiers.logs().count("had reached the SMS provider"))


def test_two_notifiers_share_the_work_without_sending_twice(db, sim, notifiers):
    _, factory = db
    enqueue_sms(factory, TOTAL)
    notifiers.start()
    notifiers.start()
    wait_for(lambda: sent_count(factory) == TOTAL, 90, "every push sent")
    stats = gateway_stats(sim)
    assert (stats["accepted"], stats["duplicates"]) == (TOTAL, 0)


def test_with_redis_stopped_pushes_still_go_out(db, sim, notifiers, tmp_path):
    _, factory = db
    stack = Stack(base_env({}), tmp_path / "redis-log")
    (tmp_path / "redis-log").mkdir()
    url = stack.start_redis(free_port(), tmp_path / "redis-data")
    try:
        notifiers.start(REDIS_URL=url)
        enqueue_sms(factory, 20)
        Redis.from_url(url).lpush("pd:notifications:wakeup", "1")
        wait_for(lambda: sent_count(factory) == 20, 30, "pushes with Redis up")
    finally:
        stack.stop()
    started = time.monotonic()
    enqueue_sms(factory, 20, start=20)
    wait_for(lambda: sent_count(factory) == 40, 30, "pushes with Redis down")
    assert time.monotonic() - started < 30
    assert gateway_stats(sim)["accepted"] == 40
