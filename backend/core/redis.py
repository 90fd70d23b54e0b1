"""Redis clients. Redis is a speed-up, never the record: callers must survive its loss, so every
client fails fast (short timeouts, one retry without backoff; redis-py's default retries cost about
4 s a call while Redis is down)."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def connect(url: str, *, timeout: float = 0.5) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 1),
        decode_responses=True,
    )


@lru_cache
def get_redis(url: str) -> Redis:
    return connect(url)
