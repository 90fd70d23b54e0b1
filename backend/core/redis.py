"""The shared Redis client. Redis is a speed-up, never the record: callers must survive its loss."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis


@lru_cache
def get_redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5, decode_responses=True)
