"""A commit that adds pushes wakes the notifiers through Redis (backend/notifications/outbox.py),
and a commit whose pushes were rolled back wakes nobody."""

from __future__ import annotations

import pytest
from redis import Redis

from backend.core.config import get_settings
from backend.customers.service import get_customer
from backend.notifications.outbox import WAKEUP_KEY, enqueue
from tests.backend.conftest import TOKENS


@pytest.fixture
def wakeups(settings, monkeypatch) -> Redis:  # type: ignore[no-untyped-def]
    for name, value in TOKENS.items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    get_settings.cache_clear()
    client = Redis.from_url(settings.redis_url, socket_timeout=5)
    client.delete(WAKEUP_KEY)
    yield client
    client.delete(WAKEUP_KEY)
    client.close()
    get_settings.cache_clear()


def test_a_commit_with_pushes_wakes_a_waiting_notifier(session_factory, county, wakeups) -> None:
    with session_factory() as session:
        customer_id = get_customer(session, county.a1).id
        enqueue(session, dedup_key="wake:1", template="ticket_accepted", params={}, customer_id=customer_id)
        session.commit()
    assert wakeups.blpop([WAKEUP_KEY], timeout=3) is not None


def test_a_commit_without_pushes_wakes_nobody(session_factory, county, wakeups) -> None:
    with session_factory() as session:
        customer_id = get_customer(session, county.a1).id
        enqueue(session, dedup_key="wake:2", template="ticket_accepted", params={}, customer_id=customer_id)
        session.rollback()
        session.commit()
    assert wakeups.blpop([WAKEUP_KEY], timeout=1) is None
