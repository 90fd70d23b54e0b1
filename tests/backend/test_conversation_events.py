"""Conversation events in batches (`POST /conversation-events/batch`, what the action servers send):
each event stored once in one transaction, a batch with an event from the future refused whole, the
SQLite writer turn taken like every other writer's, and the reports' containment and fallbacks
counting what was posted."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.conversations import service
from backend.conversations.models import ConversationEvent
from backend.conversations.schemas import MAX_BATCH, ConversationEventCreate
from backend.core import clock
from backend.core.db import writer_turn

BATCH = "/api/v1/conversation-events/batch"


def at(day: datetime, hour: int, minute: int = 0) -> str:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0).isoformat()


def stored(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with factory() as session:
        rows = session.execute(
            select(ConversationEvent.sender_id, ConversationEvent.channel, ConversationEvent.kind).order_by(
                ConversationEvent.sender_id, ConversationEvent.kind
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_batch_is_stored_once_per_event(
    client: TestClient, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    yesterday = clock.now().astimezone(clock.LOCAL_ZONE) - timedelta(days=1)
    events = [
        {"sender_id": "o_a", "channel": "wechat", "kind": "fallback", "at": at(yesterday, 9)},
        {"sender_id": "o_a", "channel": "wechat", "kind": "resolved", "at": at(yesterday, 9, 1)},
        {"sender_id": "13800000000", "channel": "sms", "kind": "fallback", "at": at(yesterday, 10)},
        {"sender_id": "13800000000", "channel": "sms", "kind": "fallback", "at": at(yesterday, 10)},  # repeated
    ]
    first = client.post(BATCH, json={"events": events}, headers=actions_headers)
    assert first.status_code == 200 and first.json() == {"recorded": 3, "duplicates": 1}
    again = client.post(BATCH, json={"events": events[:2]}, headers=actions_headers)  # a retried batch
    assert again.json() == {"recorded": 0, "duplicates": 2}
    assert stored(session_factory) == [
        ("13800000000", "sms", "fallback"),
        ("o_a", "wechat", "fallback"),
        ("o_a", "wechat", "resolved"),
    ]
    single = {"sender_id": "o_b", "channel": "wechat", "kind": "handoff", "at": at(yesterday, 11)}
    assert client.post("/api/v1/conversation-events", json=single, headers=actions_headers).status_code == 201
    assert client.post(BATCH, json={"events": [single]}, headers=actions_headers).json()["duplicates"] == 1


def test_bad_batches_are_refused_whole(
    client: TestClient, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    now = clock.now()
    good = {"sender_id": "o_a", "channel": "wechat", "kind": "fallback", "at": now.isoformat()}
    ahead = good | {"at": (now + timedelta(hours=1)).isoformat()}
    refused = client.post(BATCH, json={"events": [good, ahead]}, headers=actions_headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "event_in_future" and refused.json()["details"] == {"index": 1}
    for body in ({"events": []}, {"events": [good | {"kind": "confused"}]}, {"events": [good] * (MAX_BATCH + 1)}):
        assert client.post(BATCH, json=body, headers=actions_headers).status_code == 422
    assert client.post(BATCH, json={"events": [good]}).status_code == 401
    assert stored(session_factory) == []


def test_a_batch_waits_for_its_turn_among_the_sqlite_writers(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    """While another writer holds the turn, a batch waits for it, not for SQLite's lock; then it
    writes everything in one go."""
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL writers do not take turns")
    moment = clock.now()
    batch = [ConversationEventCreate(sender_id=f"o_{n}", channel="sms", kind="resolved", at=moment) for n in range(50)]
    done = threading.Event()

    def post() -> None:
        service.record(session_factory, batch)
        done.set()

    with writer_turn(session_factory.kw["bind"]):
        worker = threading.Thread(target=post)
        worker.start()
        assert not done.wait(0.5), "the batch wrote while another writer had the turn"
        with session_factory() as session:
            assert session.scalar(select(func.count(ConversationEvent.id))) == 0
    assert done.wait(10)
    worker.join()
    with session_factory() as session:
        assert session.scalar(select(func.count(ConversationEvent.id))) == 50


def test_the_daily_report_counts_the_posted_conversations(
    client: TestClient, actions_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    """Three conversations yesterday: one not understood twice then answered, one answered, one
    handed to a person; containment is 2 of 3 and the fallbacks are the two events."""
    yesterday = clock.now().astimezone(clock.LOCAL_ZONE) - timedelta(days=1)
    events = [
        {"sender_id": "o_x", "channel": "wechat", "kind": "fallback", "at": at(yesterday, 9)},
        {"sender_id": "o_x", "channel": "wechat", "kind": "fallback", "at": at(yesterday, 9, 1)},
        {"sender_id": "o_x", "channel": "wechat", "kind": "resolved", "at": at(yesterday, 9, 2)},
        {"sender_id": "13800000000", "channel": "sms", "kind": "resolved", "at": at(yesterday, 12)},
        {"sender_id": "o_y", "channel": "wechat", "kind": "handoff", "at": at(yesterday, 15)},
        {"sender_id": "o_y", "channel": "wechat", "kind": "fallback", "at": at(yesterday - timedelta(days=1), 15)},
    ]
    assert client.post(BATCH, json={"events": events}, headers=actions_headers).json()["recorded"] == 6
    params = {"date": yesterday.date().isoformat()}
    report = client.get("/api/v1/reports/daily", params=params, headers=admin_headers).json()
    assert report["conversations"] == {
        "conversations": 3,
        "handed_off": 1,
        "resolved_by_assistant": 2,
        "containment_pct": 66.7,
        "fallbacks": 2,
        "resolved_events": 2,
    }
