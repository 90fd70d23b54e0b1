"""Prometheus metrics of the bot-env processes (webhook gateway, rasa server, action server), names
prefixed `powerdesk_`; each process serves them at `/metrics` (docs/contracts.md lists the series).

- the gateway counts callbacks by channel and outcome (`accepted`: queued for a turn;
  `duplicate`: a platform's retry or a replayed nonce, acked and dropped; `refused`: answered 4xx,
  or signed but malformed and quarantined; `unavailable`: answered 503, Redis did not take it) and
  times each acknowledgement;
- the rasa server's channels count each try of a queued message by outcome (`answered`,
  `retried`: failed and kept for another try, `quarantined`) and time the tries that answered;
- the action server counts and times each action run by action and outcome; the conversation
  action counts the messages the NLU did not understand (intent `nlu_fallback`);
- the rasa server's channels count the messages passed straight to a person (bot_runtime/handoff_relay.py);
- the gateway and the rasa server read the inbound queue depth (unfinished messages, by channel)
  from Redis at each scrape (`QueueDepth`).

Standard library, prometheus-client and the queue only: no Sanic here (each launcher serves `exposition()`
on its own app, as the backend does), no backend import (the bot env never loads it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from redis.exceptions import RedisError

from bot_runtime.inbound_queue import InboundQueue

MESSAGES_IN = Counter(
    "powerdesk_inbound_messages",
    "Platform callbacks taken by the webhook, by channel and outcome",
    ["channel", "outcome"],
)
ACK_SECONDS = Histogram(
    "powerdesk_ack_duration_seconds",
    "Time to acknowledge a platform callback",
    ["channel"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
TURNS = Counter("powerdesk_turns", "Tries of a queued message, by channel and outcome", ["channel", "outcome"])
TURN_SECONDS = Histogram(
    "powerdesk_turn_duration_seconds",
    "Time of a try that answered a message: the turn and the hand-over of its reply",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 45),
)
RELAYED = Counter(
    "powerdesk_handoff_relayed",
    "Messages of customers handed to a person passed straight to them, without a turn, by channel",
    ["channel"],
)
NLU_FALLBACKS = Counter("powerdesk_nlu_fallbacks", "Messages the NLU did not understand, by channel", ["channel"])
ACTION_RUNS = Counter("powerdesk_action_runs", "Custom action runs, by action and outcome", ["action", "outcome"])
ACTION_SECONDS = Histogram(
    "powerdesk_action_duration_seconds",
    "Time to run a custom action",
    ["action"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)


class QueueDepth(Collector):
    """`powerdesk_inbound_queue_depth{channel}`: the queue's unfinished messages of `channels`, read
    at each scrape (nothing when Redis cannot be reached)."""

    def __init__(self, queue: InboundQueue, channels: Iterable[str]) -> None:
        self.queue = queue
        self.channels = tuple(channels)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "powerdesk_inbound_queue_depth", "Messages queued and not yet handled, by channel", labels=["channel"]
        )
        try:
            depths = self.queue.depth(self.channels)
        except RedisError:
            depths = {}
        for channel, unfinished in sorted(depths.items()):
            family.add_metric([channel], unfinished)
        yield family


def exposition(*collectors: Collector) -> tuple[bytes, str]:
    """The body and content type of a scrape: this process's series, and `collectors`' (read now)."""
    extra = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        extra.register(collector)
    return generate_latest(REGISTRY) + generate_latest(extra), CONTENT_TYPE_LATEST
