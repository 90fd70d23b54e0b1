"""The outage pool: coverage through the topology, and one push per affected customer per step."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.notifications import claims
from backend.notifications.models import OutboxMessage
from backend.notifications.templates import render
from tests.backend.conftest import County


def when(hours: float) -> str:
    return (clock.now() + timedelta(hours=hours)).astimezone(clock.LOCAL_ZONE).isoformat()


def publish(client: TestClient, headers: dict[str, str], **scope: list[str]) -> dict:
    body = {"kind": "fault", "cause": "10kV线路故障", "starts_at": when(-1), "estimated_restore_at": when(2)}
    r = client.post("/api/v1/outages", json=body | scope, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def covering(client: TestClient, headers: dict[str, str], account_no: str) -> list[int]:
    r = client.get("/api/v1/outages", params={"account_no": account_no}, headers=headers)
    assert r.status_code == 200
    return [o["id"] for o in r.json()]


def outbox(factory: sessionmaker[Session], prefix: str) -> list[OutboxMessage]:
    with factory() as session:
        query = select(OutboxMessage).where(OutboxMessage.dedup_key.like(f"{prefix}%")).order_by(OutboxMessage.id)
        return list(session.scalars(query))


def test_a_feeder_outage_covers_every_transformer_on_it(
    client: TestClient, county: County, admin_headers: dict[str, str], actions_headers: dict[str, str]
) -> None:
    outage = publish(client, admin_headers, feeder_codes=["F1"])
    assert outage["affected_customers"] == 3  # A1, A4 on T1 and A2 on T2
    for account in (county.a1, county.a2, county.a4):
        assert covering(client, actions_headers, account) == [outage["id"]]
    assert covering(client, actions_headers, county.a3) == []


def test_transformer_and_single_account_scopes(
    client: TestClient, county: County, admin_headers: dict[str, str], actions_headers: dict[str, str]
) -> None:
    by_transformer = publish(client, admin_headers, transformer_codes=["T2"])
    by_account = publish(client, admin_headers, account_nos=[county.a3])
    assert covering(client, actions_headers, county.a2) == [by_transformer["id"]]
    assert covering(client, actions_headers, county.a3) == [by_account["id"]]
    assert covering(client, actions_headers, county.a1) == []


def test_upcoming_outages_count_and_finished_ones_do_not(
    client: TestClient, county: County, admin_headers: dict[str, str], actions_headers: dict[str, str]
) -> None:
    planned = {
        "kind": "planned",
        "cause": "线路检修",
        "starts_at": when(24 * 6),
        "estimated_restore_at": when(24 * 6 + 8),
        "transformer_codes": ["T1"],
    }
    upcoming = client.post("/api/v1/outages", json=planned, headers=admin_headers).json()
    assert upcoming["status"] == "announced"
    active = publish(client, admin_headers, transformer_codes=["T1"])
    assert covering(client, actions_headers, county.a1) == [active["id"], upcoming["id"]]
    r = client.patch(f"/api/v1/outages/{active['id']}", json={"status": "restored"}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["status"] == "restored"
    assert covering(client, actions_headers, county.a1) == [upcoming["id"]]


def test_pushes_go_once_to_each_affected_customer_even_when_republished(
    client: TestClient, county: County, admin_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    # The feeder and one of its transformers and one of its customers: still one push each.
    outage = publish(client, admin_headers, feeder_codes=["F1"], transformer_codes=["T1"], account_nos=[county.a1])
    started = outbox(session_factory, f"outage:{outage['id']}:started:")
    assert len(started) == 3 and all(m.template == "outage_started" and m.urgent for m in started)
    assert started[0].params["cause"] == "10kV线路故障"
    assert {m.params["account_no"] for m in started} == {county.a1, county.a2, county.a4}

    new_estimate = when(5)
    for _ in range(2):  # the same estimate sent twice changes nothing the second time
        r = client.patch(
            f"/api/v1/outages/{outage['id']}",
            json={"estimated_restore_at": new_estimate},
            headers=admin_headers,
        )
        assert r.status_code == 200
    changed = outbox(session_factory, f"outage:{outage['id']}:estimate")
    assert len(changed) == 3
    assert datetime.fromisoformat(changed[0].params["estimated_restore_at"]) == datetime.fromisoformat(new_estimate)

    client.patch(f"/api/v1/outages/{outage['id']}", json={"status": "restored"}, headers=admin_headers)
    assert len(outbox(session_factory, f"outage:{outage['id']}:restored:")) == 3
    # A refused change writes nothing.
    before = len(outbox(session_factory, "outage:"))
    r = client.patch(f"/api/v1/outages/{outage['id']}", json={"estimated_restore_at": when(9)}, headers=admin_headers)
    assert r.status_code == 409 and r.json()["code"] == "outage_closed"
    assert len(outbox(session_factory, "outage:")) == before


def test_planned_outage_notices_are_scheduled_ahead(
    client: TestClient, county: County, admin_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    starts = clock.now() + timedelta(days=10)
    body = {
        "kind": "planned",
        "cause": "配网改造",
        "starts_at": starts.isoformat(),
        "estimated_restore_at": (starts + timedelta(hours=6)).isoformat(),
        "account_nos": [county.a3],
    }
    outage = client.post("/api/v1/outages", json=body, headers=admin_headers).json()
    notice, reminder = outbox(session_factory, f"outage:{outage['id']}:")
    assert notice.template == reminder.template == "outage_planned_notice"
    assert abs(notice.next_attempt_at - (starts - timedelta(days=7))) < timedelta(seconds=1)
    assert abs(reminder.next_attempt_at - (starts - timedelta(days=1))) < timedelta(seconds=1)


def test_outage_input_errors(client: TestClient, county: County, admin_headers: dict[str, str]) -> None:
    body = {"kind": "fault", "cause": "x", "starts_at": when(1), "estimated_restore_at": when(0)}
    assert (
        client.post("/api/v1/outages", json=body | {"feeder_codes": ["F1"]}, headers=admin_headers).status_code == 422
    )
    body = {"kind": "fault", "cause": "x", "starts_at": when(0), "estimated_restore_at": when(1)}
    assert client.post("/api/v1/outages", json=body, headers=admin_headers).status_code == 422
    naive = body | {"starts_at": "2026-11-22T10:00:00", "feeder_codes": ["F1"]}
    assert client.post("/api/v1/outages", json=naive, headers=admin_headers).status_code == 422
    r = client.post("/api/v1/outages", json=body | {"feeder_codes": ["NOPE"]}, headers=admin_headers)
    assert r.status_code == 404
    assert client.patch("/api/v1/outages/999", json={"status": "restored"}, headers=admin_headers).status_code == 404
    assert client.get("/api/v1/outages/99999999999", headers=admin_headers).status_code == 422


def test_cancelling_an_announced_outage_withdraws_its_notices_and_tells_everyone_once(
    client: TestClient, county: County, admin_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    starts = (clock.now() + timedelta(days=10)).replace(minute=0, second=0, microsecond=0)
    body = {
        "kind": "planned",
        "cause": "配网改造",
        "starts_at": starts.isoformat(),
        "estimated_restore_at": (starts + timedelta(hours=8)).isoformat(),
        # F1 covers A1 and A4 (T1) and A2 (T2); T1 and A1 again must not double anything; A3 alone.
        "feeder_codes": ["F1"],
        "transformer_codes": ["T1"],
        "account_nos": [county.a1, county.a3],
    }
    outage = client.post("/api/v1/outages", json=body, headers=admin_headers).json()
    with session_factory() as session, session.begin():
        notices = {m.dedup_key: m for m in session.scalars(select(OutboxMessage))}
        assert len(notices) == 8  # notice and reminder for each of the four customers
        customer_ids = {m.customer_id for m in notices.values()}
        first, held = sorted(customer_ids)[:2]
        notices[f"outage:{outage['id']}:notice:{first}"].status = "sent"  # this one reached the customer
        in_flight = notices[f"outage:{outage['id']}:notice:{held}"]  # a notifier is sending this one
        in_flight.claimed_until, in_flight.claim_token = clock.now() + timedelta(minutes=2), "t"

    r = client.patch(f"/api/v1/outages/{outage['id']}", json={"status": "cancelled"}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    again = client.patch(f"/api/v1/outages/{outage['id']}", json={"status": "cancelled"}, headers=admin_headers)
    assert again.status_code == 409 and again.json()["code"] == "outage_closed"

    cancelled = outbox(session_factory, f"outage:{outage['id']}:cancelled:")
    assert {m.customer_id for m in cancelled} == customer_ids and len(cancelled) == 4
    assert all(m.template == "outage_cancelled" and not m.urgent and m.status == "pending" for m in cancelled)
    assert {m.params["account_no"] for m in cancelled} == {county.a1, county.a2, county.a3, county.a4}
    assert all(m.next_attempt_at <= clock.now() for m in cancelled)  # told at once, not on the notice's date
    text = render("outage_cancelled", cancelled[0].params).text
    local = starts.astimezone(clock.LOCAL_ZONE)
    assert f"原定于{local.month}月{local.day}日{local:%H:%M}至" in text and "计划停电已取消" in text
    statuses = {m.dedup_key: m.status for m in outbox(session_factory, f"outage:{outage['id']}:")}
    assert statuses.pop(f"outage:{outage['id']}:notice:{first}") == "sent"
    assert statuses.pop(f"outage:{outage['id']}:notice:{held}") == "pending"  # may be at the provider already
    notice_rows = {key: status for key, status in statuses.items() if ":cancelled:" not in key}
    assert set(notice_rows.values()) == {"cancelled"} and len(notice_rows) == 6

    # By the day before the planned start no reminder goes out: only the cancellations, and the held
    # notice (its holder's lease has lapsed), which its customer's cancellation follows.
    with session_factory() as session:
        _, claimed = claims.claim_due(session, limit=100, lease_seconds=60, now=starts - timedelta(hours=23))
        keys = sorted(session.get_one(OutboxMessage, row_id).dedup_key for row_id in claimed)
    assert keys == sorted(
        [f"outage:{outage['id']}:notice:{held}"] + [m.dedup_key for m in cancelled if m.customer_id != held]
    )


def test_cancelling_an_outage_already_under_way_tells_nobody_it_is_off(
    client: TestClient, county: County, admin_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    outage = publish(client, admin_headers, transformer_codes=["T2"])
    r = client.patch(f"/api/v1/outages/{outage['id']}", json={"status": "cancelled"}, headers=admin_headers)
    assert r.status_code == 200
    assert outbox(session_factory, f"outage:{outage['id']}:cancelled:") == []
    assert [m.status for m in outbox(session_factory, f"outage:{outage['id']}:")] == ["pending"]
