"""The rasa server keeps its conversation locks in Rasa's Redis lock store, on the stack's Redis
(REDIS_URL, through connectors/rasa_server.py's `lock_store_environment`): two turns of one
conversation take turns, also when they run in different processes, and the lock is a Redis key
while a turn holds it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.utils import AvailableEndpoints
from redis import Redis

from connectors.rasa_server import lock_store_environment

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
    assert isinstance(store, RedisLockStore)
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
