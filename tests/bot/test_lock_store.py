"""The rasa server keeps its conversation locks in Rasa's Redis lock store, on the stack's Redis
(REDIS_URL, through bot_runtime/rasa_server.py's `lock_store_environment`): two turns of one
conversation take turns, also when they run in different processes, and the lock is a Redis key
while a turn holds it. While Redis is unreachable the process's own locks serialise the turns
instead of every turn failing (bot_runtime/lock_store.py), and Redis is used again afterwards."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.utils import AvailableEndpoints
from redis import Redis

from bot_runtime import lock_store as pd_lock_store
from bot_runtime.rasa_server import lock_store_environment

ENDPOINTS = Path(__file__).resolve().parents[2] / "bot" / "endpoints.yml"


def test_the_url_is_split_into_what_rasa_s_lock_store_takes() -> None:
    assert lock_store_environment("redis://:p%40ss@10.0.0.5:6390/3") == {
        "PD_LOCK_REDIS_HOST": "10.0.0.5",
        "PD_LOCK_REDIS_PORT": "6390",
        "PD_LOCK_REDIS_DB": "3",
        "PD_LOCK_REDIS_PASSWORD": "p@ss",
    }
    assert lock_store_environment("redis://redis")["PD_LOCK_REDIS_PORT"] == "6379"
    for refused in ("rediss://redis:6380/0", "unix:///tmp/redis.sock", "redis://redis/x"):
        with pytest.raises(ValueError):
            lock_store_environment(refused)


@pytest.fixture
def lock_store(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> RedisLockStore:
    for name, value in lock_store_environment(redis_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "lock-store-test-token-0123456789")
    store = LockStore.create(AvailableEndpoints.read_endpoints(str(ENDPOINTS)).lock_store)
    assert isinstance(store, pd_lock_store.RedisOrLocalLockStore) and isinstance(store, RedisLockStore)
    assert store.red.connection_pool.connection_kwargs["socket_timeout"] == 2
    assert store.key_prefix == "pd:lock:"  # Rasa drops a prefix that is not alphanumeric
    return store


async def test_two_turns_of_one_conversation_take_turns_through_redis(
    redis_url: str, lock_store: RedisLockStore
) -> None:
    sender = f"o_lock_{time.monotonic_ns()}"
    key = f"pd:lock:{sender}"
    redis = Redis.from_url(redis_url)
    events: list[str] = []
    seen_in_redis: list[bool] = []

    async def turn(name: str) -> None:
        async with lock_store.lock(sender, wait_time_in_seconds=0.05):
            events.append(f"{name} starts")
            seen_in_redis.append(bool(redis.exists(key)))
            await asyncio.sleep(0.3)
            events.append(f"{name} ends")

    # a second store stands for a second process: the lock is in Redis, not in either store
    other = LockStore.create(AvailableEndpoints.read_endpoints(str(ENDPOINTS)).lock_store)
    first = asyncio.create_task(turn("first"))
    await asyncio.sleep(0.05)

    async def turn_elsewhere() -> None:
        async with other.lock(sender, wait_time_in_seconds=0.05):
            events.append("second starts")
            events.append("second ends")

    await asyncio.gather(first, turn_elsewhere())
    assert events == ["first starts", "first ends", "second starts", "second ends"]
    assert seen_in_redis == [True]
    assert not redis.exists(key)  # released after the turn
    redis.close()


async def test_while_redis_is_down_the_process_s_own_locks_serialise_turns(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in lock_store_environment("redis://127.0.0.1:9/0").items():  # nothing listens on 9
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "lock-store-test-token-0123456789")
    now = [1000.0]
    config = AvailableEndpoints.read_endpoints(str(ENDPOINTS)).lock_store
    store = pd_lock_store.RedisOrLocalLockStore(config, clock=lambda: now[0])
    events: list[str] = []

    async def turn(name: str) -> None:
        async with store.lock("o_no_redis", wait_time_in_seconds=0.05):
            events.append(f"{name} starts")
            await asyncio.sleep(0.2)
            events.append(f"{name} ends")

    first = asyncio.create_task(turn("first"))
    await asyncio.sleep(0.05)
    await asyncio.gather(first, turn("second"))
    assert events == ["first starts", "first ends", "second starts", "second ends"]
    assert not store.redis_in_use()
    assert [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    # Redis is tried again after RETRY_SECONDS: back on the real one, the lock is a Redis key again
    now[0] += pd_lock_store.RETRY_SECONDS
    assert store.redis_in_use()
    for name, value in lock_store_environment(redis_url).items():
        monkeypatch.setenv(name, value)
    store.red = LockStore.create(AvailableEndpoints.read_endpoints(str(ENDPOINTS)).lock_store).red  # type: ignore[attr-defined]
    redis = Redis.from_url(redis_url)
    async with store.lock("o_redis_back"):
        assert redis.exists("pd:lock:o_redis_back")
    assert store.redis_in_use()
    redis.close()


async def test_a_lock_left_by_a_turn_that_did_not_finish_is_deleted_in_redis_even_while_local_locks_are_used(
    redis_url: str, lock_store: RedisLockStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn Redis failed under left its ticket in Redis (alive for Rasa's 60 s) and, from the
    switch to this process's own locks, one here: the message's next try deletes both, so a turn
    taking the lock does not wait that minute."""
    assert isinstance(lock_store, pd_lock_store.RedisOrLocalLockStore)
    sender = f"o_left_{time.monotonic_ns()}"
    redis = Redis.from_url(redis_url)
    lock_store.issue_ticket(sender)  # written to Redis by the turn that did not finish
    assert redis.exists(f"pd:lock:{sender}")
    monkeypatch.setattr(lock_store, "_redis_down_until", time.monotonic() + 60)  # on its own locks now
    lock_store.issue_ticket(sender)
    assert lock_store.local.get_lock(sender) is not None
    assert pd_lock_store.delete_left_lock(lock_store, sender)
    assert not redis.exists(f"pd:lock:{sender}") and lock_store.local.get_lock(sender) is None
    assert not pd_lock_store.delete_left_lock(lock_store, sender)  # nothing left: nothing said
    monkeypatch.setattr(lock_store, "_redis_down_until", 0.0)
    await asyncio.wait_for(_take_and_release(lock_store, sender), 5)
    redis.close()


async def _take_and_release(lock_store: RedisLockStore, sender: str) -> None:
    async with lock_store.lock(sender, wait_time_in_seconds=0.05):
        pass
