"""The bot-env processes' series (bot_runtime/metrics.py): the queue depth is read from Redis at each
scrape, by channel, with the channels asked for present at 0; a scrape carries the process's series
and the collectors it is given."""

from __future__ import annotations

import secrets

from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from bot_runtime import metrics
from bot_runtime.inbound_queue import InboundQueue, PartitionShare
from tests.support.scrape import samples, value


def test_the_queue_depth_is_the_unfinished_messages_read_at_each_scrape(redis_url: str) -> None:
    queue = InboundQueue(Redis.from_url(redis_url), partition_count=2, namespace_=f"pdm{secrets.token_hex(3)}")
    for n in range(3):
        queue.accept(f"wx:app:{n}", "wechat", f"o_{n}", {"Content": "停电了"})
    queue.accept("sms:aliyun:1", "sms", "13800000001", {"text": "停电了"})
    depth = metrics.QueueDepth(queue, ["wechat", "wecom", "sms"])

    found = samples(metrics.exposition(depth)[0].decode())
    by_channel = {
        dict(labels)["channel"]: v for (name, labels), v in found.items() if name == "powerdesk_inbound_queue_depth"
    }
    assert by_channel == {"wechat": 3, "wecom": 0, "sms": 1}

    share = PartitionShare(queue, "wechat", "a")
    share.held, _ = share.upkeep(busy=lambda _: False)
    first, second, _third = sorted(queue.read("wechat", share.held, "a", block_ms=None), key=lambda e: e.key)
    queue.done(first)
    queue.give_up(second, "failed 3 times")
    queue.accept("wecom:corp:1:9", "wecom", "wg_1", {"Content": "接单"})
    again = samples(metrics.exposition(depth)[0].decode())
    assert value(again, "powerdesk_inbound_queue_depth", channel="wechat") == 1  # read, not finished
    assert value(again, "powerdesk_inbound_queue_depth", channel="wecom") == 1  # not read yet


def test_a_scrape_when_redis_is_down_still_answers_without_the_depth() -> None:
    dead = InboundQueue(Redis(port=9, socket_timeout=0.2, socket_connect_timeout=0.2), partition_count=2)
    found = samples(metrics.exposition(metrics.QueueDepth(dead, ["wechat"]))[0].decode())
    assert not any(name == "powerdesk_inbound_queue_depth" for name, _ in found)


def test_a_scrape_declares_every_bot_side_series_in_prometheus_text() -> None:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    declared = {family.name for family in text_string_to_metric_families(body.decode())}
    assert {
        "powerdesk_inbound_messages",
        "powerdesk_ack_duration_seconds",
        "powerdesk_turns",
        "powerdesk_turn_duration_seconds",
        "powerdesk_nlu_fallbacks",
        "powerdesk_action_runs",
        "powerdesk_action_duration_seconds",
    } <= declared
