"""Notification tests: the backend fixtures (tests/backend/conftest.py) plus a running simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notifier.harness import Simulator, simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with simulator() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_sms_limits(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Per-phone limits live in Redis db 15 for a day: each test starts with none."""
    from redis import Redis

    client = Redis.from_url(settings.redis_url, socket_timeout=1, decode_responses=True)
    for key in client.scan_iter("pd:sms:limit:*"):
        client.delete(key)
    yield
    client.close()
