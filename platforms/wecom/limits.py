"""WeCom's per-member send limits, enforced on our side because WeCom drops the excess silently.

Per app and member: at most 30 messages a minute and 1000 an hour (WeCom doc 90454). Sliding
windows in a Redis sorted set per member (`pd:wecom:rate:<corp>:<agent>:<user>`), checked and recorded
atomically. Callers that are refused batch the waiting items into one digest message later.
When Redis is unreachable the same windows are kept in this process.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PER_MINUTE = 30
PER_HOUR = 1000

# KEYS[1] = zset; ARGV = now, member, per_minute, per_hour. Returns 0 (reserved) or seconds to wait.
_RESERVE = """
local now = tonumber(ARGV[1])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - 3600)
local hour = redis.call('zcard', KEYS[1])
if hour >= tonumber(ARGV[4]) then
  local oldest = redis.call('zrange', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + 3600 - now)
end
local minute = redis.call('zcount', KEYS[1], now - 60, '+inf')
if minute >= tonumber(ARGV[3]) then
  local recent = redis.call('zrangebyscore', KEYS[1], now - 60, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  return tostring(tonumber(recent[2]) + 60 - now)
end
redis.call('zadd', KEYS[1], now, ARGV[2])
redis.call('expire', KEYS[1], 3600)
return '0'
"""


class MemberRateLimiter:
    def __init__(
        self, redis: Any, corp_id: str, agent_id: str, per_minute: int = PER_MINUTE, per_hour: int = PER_HOUR
    ) -> None:
        self._redis = redis
        self._prefix = f"pd:wecom:rate:{corp_id}:{agent_id}:"
        self.per_minute = per_minute
        self.per_hour = per_hour
        self._local: dict[str, deque[float]] = {}
        self._local_lock = threading.Lock()

    def reserve(self, user_id: str, now: float | None = None) -> float:
        """Take a send slot for `user_id`: 0.0 when taken, else the seconds until one frees."""
        now = time.time() if now is None else now
        try:
            answer = self._redis.eval(
                _RESERVE, 1, self._prefix + user_id, repr(now), f"{now}:{secrets.token_hex(4)}",
                self.per_minute, self.per_hour,
            )  # fmt: skip
        except RedisError as exc:
            logger.warning("WeCom limiter: Redis unavailable (%s), limiting in this process", exc)
            return self._reserve_local(user_id, now)
        wait = float(answer.decode() if isinstance(answer, bytes) else answer)
        return max(wait, 0.001) if wait > 0 else 0.0

    def _reserve_local(self, user_id: str, now: float) -> float:
        with self._local_lock:
            sent = self._local.setdefault(user_id, deque())
            while sent and sent[0] <= now - 3600:
                sent.popleft()
            if len(sent) >= self.per_hour:
                return sent[0] + 3600 - now
            last_minute = [t for t in sent if t > now - 60]
            if len(last_minute) >= self.per_minute:
                return last_minute[0] + 60 - now
            sent.append(now)
            return 0.0
