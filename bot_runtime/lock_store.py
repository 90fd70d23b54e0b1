"""The rasa server's conversation locks: Rasa's own `RedisLockStore`, which falls back to this
process's locks while Redis cannot be reached (bot/endpoints.yml `lock_store`).

Rasa takes a lock per conversation around every turn (`Agent.handle_message`), so that two
messages of one customer never run at once; in Redis, that also holds across rasa servers. But
when Redis is down Rasa's store raises `LockError` at the start of every turn, and the channels
would count each as a failure of the message (bot_runtime/_inbox.py) until it is quarantined. So a
Redis error makes this store use an in-memory lock store for `RETRY_SECONDS` before it tries Redis
again: the turn goes on to the conversation store, which is in Redis too
(bot_runtime/tracker_store.py), and whose `RedisError` the channels count as an outage (the message
waits, its attempts are not counted) while Redis is down. With one rasa server the local locks
serialise exactly as Redis does; with several, a conversation could run in two of them when Redis
comes back within `RETRY_SECONDS` of an error.

A turn that does not finish (its server died, or Redis failed under it) leaves its lock for Rasa's
60 s lock lifetime. The channels delete it before the message's next try (`delete_left_lock`), in
Redis even while this process uses its own locks, so the customer does not wait that minute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: how long the local locks are used after a Redis error before Redis is tried again
RETRY_SECONDS = 5.0

T = TypeVar("T")


class RedisOrLocalLockStore(RedisLockStore):
    """`RedisLockStore` configured from `endpoint_config` (Rasa's `type: redis` keys: url as the
    host, port, db, password, key_prefix, socket_timeout), with local locks while Redis is down."""

    def __init__(self, endpoint_config: EndpointConfig, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(host=endpoint_config.url or "localhost", **endpoint_config.kwargs)
        self.local = InMemoryLockStore()
        self._clock = clock
        self._redis_down_until = 0.0

    def redis_in_use(self) -> bool:
        return self._clock() >= self._redis_down_until

    def _either(self, in_redis: Callable[[], T], in_memory: Callable[[], T]) -> T:
        if self.redis_in_use():
            try:
                return in_redis()
            except RedisError as exc:
                logger.warning(
                    "conversation locks: Redis unreachable (%s); this process's own locks for %.0f s",
                    type(exc).__name__,
                    RETRY_SECONDS,
                )
                self._redis_down_until = self._clock() + RETRY_SECONDS
        return in_memory()

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self._either(
            lambda: RedisLockStore.get_lock(self, conversation_id), lambda: self.local.get_lock(conversation_id)
        )

    def delete_lock(self, conversation_id: str) -> None:
        self._either(
            lambda: RedisLockStore.delete_lock(self, conversation_id), lambda: self.local.delete_lock(conversation_id)
        )

    def save_lock(self, lock: TicketLock) -> None:
        self._either(lambda: RedisLockStore.save_lock(self, lock), lambda: self.local.save_lock(lock))


def delete_left_lock(lock_store: LockStore, conversation_id: str) -> bool:
    """Delete the conversation's lock wherever a turn that did not finish may have left it: for
    `RedisOrLocalLockStore` in Redis (RedisError when it cannot be reached) and in this process;
    whether there was one."""
    if isinstance(lock_store, RedisOrLocalLockStore):
        in_redis = bool(lock_store.red.delete(lock_store.key_prefix + conversation_id))
        return delete_left_lock(lock_store.local, conversation_id) or in_redis
    if lock_store.get_lock(conversation_id) is None:
        return False
    lock_store.delete_lock(conversation_id)
    return True
