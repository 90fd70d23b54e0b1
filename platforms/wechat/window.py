"""The per-customer customer-service message window, tracked in Redis.

WeChat allows customer-service messages only after the user acts (RELIABILITY B.1): 5 messages
within 48 h of the user's last message; 3 within 1 minute of a menu click, a follow or a scan.
The channel calls `opened(openid, by_message=...)` for each inbound message or event and
`try_consume(openid)` before each send; when it returns False (or the platform answers
45015/45047, after which `close(openid)` is called), the reply goes to the push pipeline.

Redis is a speed-up: when it is unreachable `try_consume` answers True and the platform's own
45015/45047 answer decides.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

MESSAGE_WINDOW_SECONDS = 48 * 3600
MESSAGE_QUOTA = 5
EVENT_WINDOW_SECONDS = 60
EVENT_QUOTA = 3

# KEYS[1] = window hash; ARGV = now. Fields: expires (epoch s), quota, used.
_CONSUME = """
local expires = tonumber(redis.call('hget', KEYS[1], 'expires') or '0')
if expires <= tonumber(ARGV[1]) then return -1 end
local used = tonumber(redis.call('hget', KEYS[1], 'used') or '0')
local quota = tonumber(redis.call('hget', KEYS[1], 'quota') or '0')
if used >= quota then return -2 end
redis.call('hincrby', KEYS[1], 'used', 1)
return quota - used - 1
"""

# An event opens a short window only when no longer message window is open.
_OPEN = """
local now = tonumber(ARGV[1])
if ARGV[4] == 'event' then
  local expires = tonumber(redis.call('hget', KEYS[1], 'expires') or '0')
  local kind = redis.call('hget', KEYS[1], 'kind')
  if kind == 'message' and expires > now then return 0 end
end
redis.call('hset', KEYS[1], 'expires', now + tonumber(ARGV[2]), 'quota', ARGV[3], 'used', 0, 'kind', ARGV[4])
redis.call('expire', KEYS[1], tonumber(ARGV[2]))
return 1
"""


class CustomerServiceWindow:
    def __init__(self, redis: Any, app_id: str) -> None:
        self._redis = redis
        self._prefix = f"pd:wechat:window:{app_id}:"

    def opened(self, openid: str, *, by_message: bool, now: float | None = None) -> None:
        """Record a user action: a message (48 h / 5) or an event such as a click (1 min / 3)."""
        now = time.time() if now is None else now
        seconds, quota, kind = (
            (MESSAGE_WINDOW_SECONDS, MESSAGE_QUOTA, "message") if by_message
            else (EVENT_WINDOW_SECONDS, EVENT_QUOTA, "event")
        )  # fmt: skip
        try:
            self._redis.eval(_OPEN, 1, self._prefix + openid, int(now), seconds, quota, kind)
        except RedisError as exc:
            logger.warning("window: Redis unavailable (%s), relying on the platform's answer", exc)

    def try_consume(self, openid: str, now: float | None = None) -> bool:
        """Take one slot of the open window; False when it is closed or used up."""
        now = time.time() if now is None else now
        try:
            left = int(self._redis.eval(_CONSUME, 1, self._prefix + openid, int(now)))
        except RedisError as exc:
            logger.warning("window: Redis unavailable (%s), trying the send", exc)
            return True
        return left >= 0

    def remaining(self, openid: str, now: float | None = None) -> int:
        """Slots left in the open window (0 when closed)."""
        now = time.time() if now is None else now
        try:
            values = self._redis.hmget(self._prefix + openid, "expires", "quota", "used")
        except RedisError:
            return 0
        expires, quota, used = (int(v) if v is not None else 0 for v in values)
        return max(0, quota - used) if expires > now else 0

    def close(self, openid: str) -> None:
        """The platform answered 45015/45047: no more customer-service messages until the user acts."""
        try:
            self._redis.delete(self._prefix + openid)
        except RedisError as exc:
            logger.warning("window: Redis unavailable (%s)", exc)
