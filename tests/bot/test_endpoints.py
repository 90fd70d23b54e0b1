"""bot/endpoints.yml sends the action server's credential as a header, never in the URL, and keeps the
conversations in the Redis of REDIS_URL (bot env)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints

from bot_runtime.rasa_server import lock_store_environment
from bot_runtime.tracker_store import CompactingTrackerStore

ENDPOINTS = Path(__file__).resolve().parents[2] / "bot" / "endpoints.yml"


def test_the_action_endpoint_carries_the_credential_in_a_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "endpoint-test-token-0123456789")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    for name, value in lock_store_environment("redis://127.0.0.1:6379/0").items():
        monkeypatch.setenv(name, value)
    action = AvailableEndpoints.read_endpoints(str(ENDPOINTS)).action
    assert action.headers == {"Authorization": "Bearer endpoint-test-token-0123456789"}
    assert action.token is None and action.params == {} and "token" not in action.url


def test_the_conversations_are_kept_in_the_redis_of_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "endpoint-test-token-0123456789")
    monkeypatch.setenv("REDIS_URL", "redis://:pass%20word@127.0.0.1:6390/7")
    for name, value in lock_store_environment("redis://127.0.0.1:6390/7").items():
        monkeypatch.setenv(name, value)
    store = TrackerStore.create(AvailableEndpoints.read_endpoints(str(ENDPOINTS)).tracker_store)
    assert isinstance(store, CompactingTrackerStore) and store.keep_turns == 3
    connection = store.red.connection_pool.connection_kwargs
    assert (connection["host"], connection["port"], connection["db"]) == ("127.0.0.1", 6390, 7)
    assert connection["password"] == "pass word" and connection["socket_timeout"] == 2.0
    assert store.key_prefix == "pd:tracker:"
