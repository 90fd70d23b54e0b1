"""Claiming outbox rows: order per recipient, no row held twice, lapsed claims taken over."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from backend.core import clock
from backend.notifications import claims
from backend.notifications.models import OutboxMessage
from backend.notifications.outbox import enqueue, recipient_key

PARAMS = {"ticket_no": "QX202611220001", "deadline": "2026-11-22T16:30:00+08:00"}


def add(factory, key, *, urgent=False, **recipient):  # type: ignore[no-untyped-def]
    with factory() as session, session.begin():
        row = enqueue(session, dedup_key=key, template="ticket_dispatched", params=PARAMS, urgent=urgent, **recipient)
        session.flush()
        return row.id


def test_enqueue_in_one_transaction_keeps_one_row_per_key(session_factory):
    with session_factory() as session, session.begin():
        first = enqueue(
            session,
            dedup_key="outage:1:notice:1",
            template="outage_restored",
            params={},
            customer_id=None,
            phone="13800000001",
        )
        again = enqueue(
            session, dedup_key="outage:1:notice:1", template="outage_restored", params={}, phone="13800000001"
        )
        assert again is first
    with session_factory() as session:
        assert len(session.scalars(select(OutboxMessage)).all()) == 1


def test_enqueue_is_idempotent_and_keys_the_recipient(session_factory):
    first = add(session_factory, "ticket:QX1:dispatched", phone="13800000009")
    assert add(session_factory, "ticket:QX1:dispatched", phone="13800000009") == first
    assert recipient_key(customer_id=3) == "c:3" and recipient_key(phone="13800000009") == "p:13800000009"


def test_only_the_oldest_pending_row_of_a_recipient_is_claimed(session_factory):
    a = [add(session_factory, f"k:a:{n}", phone="13800000001") for n in range(3)]
    b = add(session_factory, "k:b:0", phone="13800000002")
    with session_factory() as session:
        token, ids = claims.claim_due(session, limit=10, lease_seconds=60)
    assert ids == [a[0], b]
    with session_factory() as session:
        assert claims.claim_due(session, limit=10, lease_seconds=60)[1] == []  # heads are held
        assert claims.finish(session, a[0], token, status="sent")
        assert claims.claim_due(session, limit=10, lease_seconds=60)[1] == [a[1]]


def test_urgent_rows_pass_older_non_urgent_ones(session_factory):
    add(session_factory, "k:slow", phone="13800000001")
    urgent = add(session_factory, "k:urgent", phone="13800000001", urgent=True)
    with session_factory() as session:
        _, ids = claims.claim_due(session, limit=10, lease_seconds=60)
    assert urgent in ids and len(ids) == 2


def test_a_lapsed_claim_is_taken_over_and_the_old_holder_cannot_write(session_factory):
    row = add(session_factory, "k:a", phone="13800000001")
    with session_factory() as session:
        old, _ = claims.claim_due(session, limit=10, lease_seconds=60)
        later = clock.now() + timedelta(seconds=61)
        new, ids = claims.claim_due(session, limit=10, lease_seconds=60, now=later)
        assert ids == [row] and new != old
        assert not claims.finish(session, row, old, status="sent")
        assert claims.finish(session, row, new, status="sent")


def test_concurrent_claimers_never_share_a_row(session_factory):
    for n in range(300):
        add(session_factory, f"k:{n}", phone=f"138{n:08d}")
    taken: list[int] = []
    lock = threading.Lock()

    def claimer() -> None:
        while True:
            with session_factory() as session:
                _, ids = claims.claim_due(session, limit=7, lease_seconds=60)
            if not ids:
                return
            with lock:
                taken.extend(ids)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 300 and len(set(taken)) == 300


def test_a_row_scheduled_for_later_does_not_hold_up_the_recipient(session_factory):
    reminder = add(session_factory, "outage:1:reminder:1", phone="13800000001")
    update = add(session_factory, "ticket:QX1:accepted", phone="13800000001")
    with session_factory() as session, session.begin():
        session.get(OutboxMessage, reminder).next_attempt_at = clock.now() + timedelta(days=6)  # type: ignore[union-attr]
    with session_factory() as session:
        assert claims.claim_due(session, limit=10, lease_seconds=60)[1] == [update]
    with session_factory() as session, session.begin():  # a failed row, though, keeps its place
        row = session.get(OutboxMessage, reminder)
        row.attempts, row.next_attempt_at = 1, clock.now() + timedelta(minutes=1)  # type: ignore[union-attr]
        session.get(OutboxMessage, update).claimed_until = None  # type: ignore[union-attr]
        session.get(OutboxMessage, update).claim_token = None  # type: ignore[union-attr]
    with session_factory() as session:
        assert claims.claim_due(session, limit=10, lease_seconds=60)[1] == []
