"""The durable inbound queue on a real Redis: dedup, replayed nonces, quarantine, leased partitions
shared fairly and taken over from a consumer that died, attempts counted, retention."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from redis import Redis

from bot_runtime import inbound_queue
from bot_runtime.inbound_queue import InboundQueue, PartitionShare, QueueUnavailable, partitions


@pytest.fixture
def queue(redis_url: str) -> Iterator[InboundQueue]:
    client = Redis.from_url(redis_url, socket_timeout=2)
    yield InboundQueue(client, partition_count=4)
    client.close()


@pytest.fixture
def channel() -> str:
    """A channel name of this test alone, so that tests sharing a Redis never see each other's keys."""
    return f"wechat-{secrets.token_hex(4)}"


def test_a_key_is_accepted_once_by_every_gateway(queue: InboundQueue, channel: str) -> None:
    key = f"wx:app:{secrets.token_hex(4)}"
    assert queue.accept(key, channel, "o_u", {"Content": "停电了"})
    another_gateway = InboundQueue(Redis(connection_pool=queue.redis.connection_pool), partition_count=4)
    assert not another_gateway.accept(key, channel, "o_u", {"Content": "停电了"})
    assert queue.depth([channel]) == {channel: 1}


def test_a_replayed_nonce_is_seen_once(queue: InboundQueue, channel: str) -> None:
    assert queue.first_nonce(channel, "1700000000:abc")
    assert not queue.first_nonce(channel, "1700000000:abc")


def test_a_malformed_body_is_kept_in_quarantine(queue: InboundQueue, channel: str) -> None:
    queue.quarantine(channel, "no MsgType", b"<xml>bad</xml>")
    assert queue.quarantined(channel) == [("no MsgType", b"<xml>bad</xml>")]


def test_one_senders_messages_share_a_partition_and_are_read_in_order(queue: InboundQueue, channel: str) -> None:
    share = PartitionShare(queue, channel, "a")
    share.held, _ = share.upkeep(busy=lambda _: False)
    assert share.held == [0, 1, 2, 3]  # alone: every partition
    for n in range(5):
        queue.accept(f"k{n}-{channel}", channel, "o_one", {"n": n})
    entries = queue.read(channel, share.held, "a", block_ms=None)
    assert [e.payload["n"] for e in entries] == [0, 1, 2, 3, 4]
    assert {e.partition for e in entries} == {queue.partition_of("o_one")}


def test_two_consumers_share_the_partitions_and_the_survivor_takes_over_within_the_lease(
    queue: InboundQueue, channel: str
) -> None:
    a, b = PartitionShare(queue, channel, "a"), PartitionShare(queue, channel, "b")
    a.held, _ = a.upkeep(busy=lambda _: False)
    b.held, _ = b.upkeep(busy=lambda _: False)
    a.held, _ = a.upkeep(busy=lambda _: False)  # sees b, lets its extra partitions go
    b.held, _ = b.upkeep(busy=lambda _: False)
    assert sorted(a.held + b.held) == [0, 1, 2, 3] and len(a.held) == len(b.held) == 2

    sender = next(f"o_{n}" for n in range(100) if queue.partition_of(f"o_{n}") in a.held)
    queue.accept(f"k1-{channel}", channel, sender, {"n": 1})
    queue.accept(f"k2-{channel}", channel, sender, {"n": 2})
    read = queue.read(channel, a.held, "a", block_ms=None)
    assert [e.payload["n"] for e in read] == [1, 2]
    # a dies here, having read both and finished neither: b takes its partitions when their lease ends
    started = time.monotonic()
    while set(a.held) - set(b.held):
        assert time.monotonic() - started < (inbound_queue.LEASE_MS + inbound_queue.MEMBER_MS) / 1000 + 2
        time.sleep(0.5)
        b.held, _ = b.upkeep(busy=lambda _: False)
    taken = [e for p in b.held for e in queue.unfinished(channel, p, "b")]
    assert [(e.payload["n"], e.taken_over) for e in taken] == [(1, True), (2, True)]
    assert [e.taken_over for p in b.held for e in queue.unfinished(channel, p, "b")] == [False, False]  # b's now
    assert queue.claim(read[0], "a") is None  # a zombie a may not go on with them
    claimed = queue.claim(taken[0], "b")
    assert claimed is not None and claimed.attempts == 1


def test_attempts_are_counted_before_the_turn_and_an_outage_gives_its_attempt_back(
    queue: InboundQueue, channel: str
) -> None:
    share = PartitionShare(queue, channel, "a")
    share.held, _ = share.upkeep(busy=lambda _: False)
    queue.accept(f"k-{channel}", channel, "o_u", {})
    (entry,) = queue.read(channel, share.held, "a", block_ms=None)
    first = queue.claim(entry, "a")
    assert first is not None and (first.attempts, first.failures) == (1, 0)
    queue.failed(first, counted=False, retry_in=60)  # the action server was down: not the message's fault
    assert queue.unfinished(channel, entry.partition, "a") == []  # waiting for its next try
    second = queue.claim(entry, "a")
    assert second is not None and (second.attempts, second.failures) == (1, 1)
    queue.failed(second, counted=True, retry_in=0)
    assert [e.key for e in queue.unfinished(channel, entry.partition, "a")] == [entry.key]  # due again
    queue.answered(second, "您好")
    queue.mark_notified(second)
    assert queue.sender_notified(channel, "o_u")
    third = queue.claim(entry, "a")
    assert third is not None and (third.attempts, third.reply, third.notified) == (2, "您好", True)
    queue.done(third)
    assert queue.claim(entry, "a") is None  # finished: never handled again
    assert not queue.sender_notified(channel, "o_u")
    assert queue.depth([channel]) == {channel: 0}


def test_a_message_given_up_is_quarantined_and_no_longer_unfinished(queue: InboundQueue, channel: str) -> None:
    share = PartitionShare(queue, channel, "a")
    share.held, _ = share.upkeep(busy=lambda _: False)
    queue.accept(f"k-{channel}", channel, "o_u", {"Content": "坏消息"})
    (entry,) = queue.read(channel, share.held, "a", block_ms=None)
    queue.give_up(entry, "failed 3 times")
    assert [e for p in share.held for e in queue.unfinished(channel, p, "a")] == []
    ((reason, body),) = queue.quarantined(channel)
    assert reason == "failed 3 times" and "坏消息" in body.decode()


def test_trim_drops_text_past_the_retention_but_never_an_unfinished_message(
    queue: InboundQueue, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    share = PartitionShare(queue, channel, "a")
    share.held, _ = share.upkeep(busy=lambda _: False)
    sender = "o_trim"
    queue.accept(f"k1-{channel}", channel, sender, {"n": 1})
    queue.accept(f"k2-{channel}", channel, sender, {"n": 2})
    first, second = queue.read(channel, share.held, "a", block_ms=None)
    queue.done(second)  # the first stays unfinished
    monkeypatch.setenv("POWERDESK_MESSAGE_RETENTION_HOURS", "0")
    time.sleep(0.01)
    queue.trim(channel)
    stream = queue.stream(channel, queue.partition_of(sender))
    assert [e.payload["n"] for e in queue.unfinished(channel, first.partition, "a")] == [1]
    assert queue.redis.xlen(stream) == 2  # the first is the oldest kept, so nothing after it goes
    queue.done(first)
    queue.trim(channel)
    assert queue.redis.xlen(stream) == 0


def test_an_unreachable_redis_is_a_clear_refusal_not_an_ack() -> None:
    dead = InboundQueue(Redis(port=9, socket_timeout=0.2, socket_connect_timeout=0.2), partition_count=2)
    with pytest.raises(QueueUnavailable, match="Redis did not take the message"):
        dead.accept("k", "wechat", "o_u", {})
    assert dead.unreachable() == "Redis unreachable: ConnectionError"


@pytest.mark.parametrize("value", ["0", "-1", "eight", "2.5"])
def test_inbound_partitions_must_be_a_positive_whole_number(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOUND_PARTITIONS", value)
    with pytest.raises(ValueError, match="INBOUND_PARTITIONS must be a positive whole number"):
        partitions()
