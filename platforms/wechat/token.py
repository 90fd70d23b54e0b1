"""One access token shared by every process, cached in Redis with a single locked refresher.

WeChat invalidates the previous token on each `/cgi-bin/token` fetch and limits fetches to 2000 a
day, so concurrent refreshers must never race (RELIABILITY rows 23-25). The cache key holds the
token with a TTL 5 minutes shorter than its life; the lock (`SET NX PX` with a random value,
compare-and-delete unlock) lets one process fetch while the others wait for the cached result.
A 45009 answer opens a breaker: nobody fetches again for `breaker_seconds` (no auto `clear_quota`).
When Redis is unreachable the token is kept in this process only (Redis is a speed-up).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from platforms.wechat.errors import PlatformUnavailable, TokenQuotaExhausted

logger = logging.getLogger(__name__)

#: fetch(force_refresh) -> (token, expires_in seconds)
Fetcher = Callable[[bool], tuple[str, int]]

_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
EARLY_REFRESH_SECONDS = 300


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class TokenCache:
    def __init__(
        self,
        redis: Any,
        key: str,
        fetch: Fetcher,
        *,
        lock_seconds: float = 15.0,
        wait_seconds: float = 10.0,
        breaker_seconds: int = 600,
    ) -> None:
        self._redis = redis
        self._key = key
        self._lock_key = f"{key}:lock"
        self._breaker_key = f"{key}:quota-exhausted"
        self._fetch = fetch
        self._lock_ms = int(lock_seconds * 1000)
        self._wait = wait_seconds
        self._breaker_seconds = breaker_seconds
        self._local_lock = threading.Lock()
        self._local: tuple[str, float] | None = None  # (token, monotonic expiry) when Redis is down
        self._local_breaker_until = 0.0

    def get(self) -> str:
        """The current token, fetching it (once across all processes) when none is cached."""
        return self._obtain(rejected=None)

    def refresh(self, rejected: str) -> str:
        """A token other than `rejected` (which the platform refused with 40001/42001)."""
        return self._obtain(rejected=rejected)

    # --- internals ---------------------------------------------------------------------------

    def _obtain(self, rejected: str | None) -> str:
        try:
            return self._obtain_shared(rejected)
        except RedisError as exc:
            logger.warning("token cache %s: Redis unavailable (%s), using a per-process token", self._key, exc)
            return self._obtain_local(rejected)

    def _obtain_shared(self, rejected: str | None) -> str:
        if _text(self._redis.get(self._breaker_key)):
            raise TokenQuotaExhausted("token quota breaker open")
        cached = _text(self._redis.get(self._key))
        if cached and cached != rejected:
            return cached
        deadline = time.monotonic() + self._wait
        while True:
            owner = secrets.token_hex(8)
            if self._redis.set(self._lock_key, owner, nx=True, px=self._lock_ms):
                try:
                    cached = _text(self._redis.get(self._key))
                    if cached and cached != rejected:
                        return cached
                    token, ttl = self._fetch_guarded(force=rejected is not None, shared=True)
                    self._redis.set(self._key, token, ex=ttl)
                    return token
                finally:
                    self._redis.eval(_UNLOCK, 1, self._lock_key, owner)
            time.sleep(0.05)
            cached = _text(self._redis.get(self._key))
            if cached and cached != rejected:
                return cached
            if time.monotonic() > deadline:
                raise PlatformUnavailable("access token refresh by another process did not finish")

    def _obtain_local(self, rejected: str | None) -> str:
        with self._local_lock:
            if time.monotonic() < self._local_breaker_until:
                raise TokenQuotaExhausted("token quota breaker open")
            if self._local and self._local[0] != rejected and time.monotonic() < self._local[1]:
                return self._local[0]
            token, ttl = self._fetch_guarded(force=rejected is not None, shared=False)
            self._local = (token, time.monotonic() + ttl)
            return token

    def _fetch_guarded(self, *, force: bool, shared: bool) -> tuple[str, int]:
        try:
            token, expires_in = self._fetch(force)
        except TokenQuotaExhausted:
            logger.error("ALERT token endpoint for %s answered 45009: quota exhausted, breaker open", self._key)
            if shared:
                self._redis.set(self._breaker_key, "1", ex=self._breaker_seconds)
            else:
                self._local_breaker_until = time.monotonic() + self._breaker_seconds
            raise
        logger.info("fetched a new access token for %s (expires in %s s)", self._key, expires_in)
        return token, max(60, int(expires_in) - EARLY_REFRESH_SECONDS)
