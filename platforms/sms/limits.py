"""Per-phone SMS limits, applied before the provider applies them (RELIABILITY row 37).

- Aliyun notifications: 50 per phone, signature and template in a rolling 24 h.
- Tencent: 10 per phone per natural day (Asia/Shanghai), and the same content once per 30 s.

Each rule is a Redis sorted set (`pd:sms:limit:...`) checked and recorded in one script. When
Redis is unreachable the same rules are kept in this process (several notifiers then each keep
their own count; the provider's own limit is the backstop and is recorded as rate-limited).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
#: after a Redis failure, limit in the process for this long before trying Redis again
REDIS_RETRY_SECONDS = 10.0

# KEYS = one sorted set per rule; ARGV = member, now, then per rule: since, limit, ttl.
# Returns 0 when recorded in every set, else the 1-based index of the first rule that refuses.
_RESERVE = """
local now = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  local since = tonumber(ARGV[3 + (i - 1) * 3])
  local limit = tonumber(ARGV[4 + (i - 1) * 3])
  redis.call('zremrangebyscore', key, '-inf', '(' .. since)
  if redis.call('zcard', key) >= limit then return i end
end
for i, key in ipairs(KEYS) do
  redis.call('zadd', key, now, ARGV[1])
  redis.call('expire', key, tonumber(ARGV[5 + (i - 1) * 3]))
end
return 0
"""


@dataclass(frozen=True)
class Rule:
    key: str
    since: float
    limit: int
    reset_at: float | None  # natural windows reset at a fixed moment; rolling ones do not
    window: float


def _local_midnight_after(now: float) -> float:
    local = datetime.fromtimestamp(now, LOCAL_ZONE)
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).timestamp()


class PhoneLimiter:
    def __init__(self, redis: Any, provider: str, *, per_day: int | None = None) -> None:
        self._redis = redis
        self.provider = provider
        self.per_day = per_day if per_day is not None else (50 if provider == "aliyun" else 10)
        self._local: dict[str, list[float]] = defaultdict(list)
        self._local_lock = threading.Lock()
        self._redis_down_until = 0.0

    def rules(self, phone: str, template_code: str, text: str, now: float) -> list[Rule]:
        prefix = f"pd:sms:limit:{self.provider}:{phone}"
        if self.provider == "aliyun":
            day = 24 * 3600.0
            return [Rule(f"{prefix}:tpl:{template_code}", now - day, self.per_day, None, day)]
        midnight = _local_midnight_after(now)
        digest = hashlib.sha1(text.encode()).hexdigest()[:16]
        return [
            Rule(f"{prefix}:day", midnight - 24 * 3600, self.per_day, midnight, 24 * 3600.0),
            Rule(f"{prefix}:same:{digest}", now - 30, 1, None, 30.0),
        ]

    def reserve(self, phone: str, template_code: str, text: str, now: float | None = None) -> float:
        """Take a slot for one SMS: 0.0 when taken, else the seconds until the refusing window frees."""
        now = time.time() if now is None else now
        rules = self.rules(phone, template_code, text, now)
        member = f"{now}:{secrets.token_hex(4)}"
        args: list[Any] = [member, repr(now)]
        for rule in rules:
            args += [repr(rule.since), rule.limit, int(rule.window) + 60]
        if time.monotonic() < self._redis_down_until:
            return self._reserve_local(rules, now)
        try:
            refused = int(self._redis.eval(_RESERVE, len(rules), *[r.key for r in rules], *args))
            if refused == 0:
                return 0.0
            rule = rules[refused - 1]
            oldest = self._redis.zrange(rule.key, 0, 0, withscores=True)
            oldest_at = float(oldest[0][1]) if oldest else now
        except RedisError as exc:
            logger.warning("SMS limiter: Redis unavailable (%s), limiting in this process", exc)
            self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            return self._reserve_local(rules, now)
        return self._wait(rule, oldest_at, now)

    @staticmethod
    def _wait(rule: Rule, oldest_at: float, now: float) -> float:
        if rule.reset_at is not None:
            return max(rule.reset_at - now, 0.001)
        return max(oldest_at + rule.window - now, 0.001)

    def _reserve_local(self, rules: list[Rule], now: float) -> float:
        with self._local_lock:
            for rule in rules:
                stamps = [t for t in self._local[rule.key] if t >= rule.since]
                self._local[rule.key] = stamps
                if len(stamps) >= rule.limit:
                    return self._wait(rule, min(stamps), now)
            for rule in rules:
                self._local[rule.key].append(now)
            return 0.0
