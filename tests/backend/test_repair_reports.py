"""Repair reports: attach to a covering outage or open and dispatch a ticket; idempotent under retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.customers.models import Customer
from backend.notifications.models import OutboxMessage
from backend.outages import service as outages
from backend.outages.models import OutageSubscription
from backend.tickets import service as tickets
from backend.tickets.models import Ticket
from tests.backend.conftest import County, speaking_for


def report(client: TestClient, headers: dict[str, str], key: str, **body: object) -> dict:
    payload = {"channel": "wechat", "sender_id": "o_a1", "description": "家里没电了"} | body
    r = client.post("/api/v1/repair-reports", json=payload, headers=headers | {"Idempotency-Key": key})
    assert r.status_code == 200, r.text
    return r.json()


def reports_at_once(
    monkeypatch: pytest.MonkeyPatch, module: object, check: str, count: int, send_one: Callable[[int], dict]
) -> list[dict]:
    """`count` reports sent together, with `module.check` slowed by 0.3 s so that every report has
    run it before the first one commits, unless the reports are serialized."""
    original = getattr(module, check)

    def slowed(session: Session, customer: Customer) -> object:
        found = original(session, customer)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(module, check, slowed)
    start = threading.Barrier(count)

    def send(n: int) -> dict:
        start.wait()
        return send_one(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(send, range(count)))


def tickets_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count(Ticket.id))) or 0


def test_a_report_without_outage_opens_and_dispatches_a_ticket(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    before = clock.now()
    answer = report(client, actions_headers, "k1", account_no=county.a1)
    assert answer["outcome"] == "ticket_created"
    assert answer["ticket_no"].startswith("QX" + before.astimezone(clock.LOCAL_ZONE).strftime("%Y%m%d"))
    assert answer["worker"] == {"name": "网格员W1", "phone": "13900000000"}
    deadline = datetime.fromisoformat(answer["deadline"])
    assert timedelta(minutes=44) < deadline - before < timedelta(minutes=46)  # urban: 45 minutes
    assert deadline.utcoffset() == timedelta(hours=8)
    with session_factory() as session:
        keys = set(session.scalars(select(OutboxMessage.dedup_key)))
    # the worker's task; the customer reads the ticket in the chat's reply (no push says it again)
    assert keys == {f"ticket:{answer['ticket_no']}:assigned:W1"}


def test_a_chat_report_is_told_in_the_chat_and_a_phone_report_by_push(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    """The customer reporting in WeChat reads the ticket and the arrival time in the assistant's reply:
    no push says it again (one that could overtake the reply); the worker's task goes at once, and
    a report by phone (no chat to tell it in) is pushed at once."""
    chat = report(client, actions_headers, "chat", account_no=county.a1)
    by_phone = report(client, actions_headers, "phone", account_no=county.a2, channel="phone", sender_id="13800000002")
    with session_factory() as session:
        rows = {row.dedup_key: row for row in session.scalars(select(OutboxMessage))}
        created = session.scalar(select(Ticket.created_at).where(Ticket.ticket_no == chat["ticket_no"]))
    assert created is not None
    assert chat["deadline"], "the reply has the arrival time to tell"
    assert f"ticket:{chat['ticket_no']}:dispatched" not in rows
    assert rows[f"ticket:{chat['ticket_no']}:assigned:W1"].next_attempt_at - created < timedelta(seconds=1)
    assert rows[f"ticket:{by_phone['ticket_no']}:dispatched"].next_attempt_at - created < timedelta(seconds=5)


def test_the_customer_is_found_by_phone_address_or_wechat_binding(
    client: TestClient, county: County, actions_headers: dict[str, str]
) -> None:
    assert report(client, actions_headers, "by-openid")["ticket_no"]  # sender o_a1 is bound to A1
    by_address = report(client, actions_headers, "by-address", address="人民路2号", sender_id="o_x")
    reporter = speaking_for("wechat:o_x")  # the reporter reads the ticket they reported
    by_ticket = client.get(f"/api/v1/tickets/{by_address['ticket_no']}", headers=reporter).json()
    assert by_ticket["account_no"] == county.a2
    r = client.post(
        "/api/v1/repair-reports",
        json={
            "channel": "sms",
            "sender_id": county.a1_phone,
            "description": "停电",
            "phone": county.a1_phone,
        },
        headers=actions_headers | {"Idempotency-Key": "ambiguous"},
    )
    assert r.status_code == 422 and r.json()["code"] == "customer_ambiguous"  # A1 and A4 share the phone
    r = client.post(
        "/api/v1/repair-reports",
        json={"channel": "wechat", "sender_id": "o_stranger", "description": "停电"},
        headers=actions_headers | {"Idempotency-Key": "stranger"},
    )
    assert r.status_code == 404 and r.json()["code"] == "customer_not_found"


def test_a_report_inside_an_outage_is_attached_and_subscribed(
    client: TestClient,
    county: County,
    admin_headers: dict[str, str],
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    now = clock.now()
    outage = client.post(
        "/api/v1/outages",
        json={
            "kind": "fault",
            "cause": "台区变压器故障",
            "starts_at": (now - timedelta(minutes=20)).isoformat(),
            "estimated_restore_at": (now + timedelta(hours=2)).isoformat(),
            "transformer_codes": ["T1"],
        },
        headers=admin_headers,
    ).json()
    answer = report(client, actions_headers, "k-outage", account_no=county.a1)
    assert answer["outcome"] == "attached_to_outage" and answer["ticket_no"] is None
    assert answer["outage"]["id"] == outage["id"] and answer["outage"]["cause"] == "台区变压器故障"
    assert tickets_count(session_factory) == 0
    with session_factory() as session:
        assert session.scalar(select(func.count(OutageSubscription.id))) == 1

    hazard = report(
        client,
        actions_headers,
        "k-hazard",
        account_no=county.a1,
        kind="hazard",
        description="电线掉在地上冒火花",
    )
    assert hazard["outcome"] == "ticket_created" and hazard["priority"] == "urgent"
    assert hazard["outage"]["id"] == outage["id"]


def test_retries_get_the_first_answer_and_a_reused_key_is_refused(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    first = report(client, actions_headers, "same", account_no=county.a1)
    again = report(client, actions_headers, "same", account_no=county.a1)
    assert again == first
    assert tickets_count(session_factory) == 1
    r = client.post(
        "/api/v1/repair-reports",
        json={"channel": "wechat", "sender_id": "o_a1", "description": "别的", "account_no": county.a2},
        headers=actions_headers | {"Idempotency-Key": "same"},
    )
    assert r.status_code == 409 and r.json()["code"] == "idempotency_key_reused"
    r = client.post(
        "/api/v1/repair-reports",
        json={"channel": "wechat", "sender_id": "o_a1", "description": "x"},
        headers=actions_headers,
    )
    assert r.status_code == 422
    assert tickets_count(session_factory) == 1


def test_a_refused_report_leaves_its_key_free(
    client: TestClient, county: County, actions_headers: dict[str, str]
) -> None:
    r = client.post(
        "/api/v1/repair-reports",
        json={"channel": "wechat", "sender_id": "o_a1", "description": "x", "account_no": "9999999999"},
        headers=actions_headers | {"Idempotency-Key": "retry-me"},
    )
    assert r.status_code == 404
    assert report(client, actions_headers, "retry-me", account_no=county.a1)["outcome"] == "ticket_created"


def test_parallel_retries_with_one_key_open_one_ticket(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    body = {"account_no": county.a3, "channel": "wechat", "sender_id": "o_a3", "description": "停电了"}

    def send(_: int) -> tuple[int, dict]:
        r = client.post("/api/v1/repair-reports", json=body, headers=actions_headers | {"Idempotency-Key": "burst"})
        return r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(send, range(24)))
    assert {status for status, _ in answers} == {200}
    assert len({a["ticket_no"] for _, a in answers}) == 1
    assert tickets_count(session_factory) == 1


def test_parallel_hazard_reports_with_different_keys_get_distinct_numbers(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    def send(n: int) -> str:
        r = client.post(
            "/api/v1/repair-reports",
            json={
                "account_no": county.a2,
                "channel": "wechat",
                "sender_id": f"o_{n}",
                "description": "电线冒火花",
                "kind": "hazard",  # a hazard always opens its own ticket
            },
            headers=actions_headers | {"Idempotency-Key": f"key-{n}"},
        )
        assert r.status_code == 200, r.text
        return r.json()["ticket_no"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(send, range(16)))
    assert len(set(numbers)) == 16
    assert tickets_count(session_factory) == 16


def test_a_second_report_while_a_ticket_is_open_is_a_reminder_on_that_ticket(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    first = report(client, actions_headers, "r1", account_no=county.a1)
    again = [report(client, actions_headers, f"r{n}", account_no=county.a1, description="还是没电") for n in (2, 3)]
    assert {a["outcome"] for a in again} == {"attached_to_ticket"}
    assert {a["ticket_no"] for a in again} == {first["ticket_no"]}
    assert again[0]["deadline"] == first["deadline"] and again[0]["worker"] == first["worker"]
    assert again[0]["status"] == "dispatched"
    assert tickets_count(session_factory) == 1
    ticket = client.get(f"/api/v1/tickets/{first['ticket_no']}", headers=speaking_for("wechat:o_a1")).json()
    reminders = [e for e in ticket["timeline"] if e["type"] == "reminded"]
    assert len(reminders) == 2 and "还是没电" in reminders[0]["note"]
    assert ticket["status"] == "dispatched"  # a reminder moves nothing
    with session_factory() as session:
        nudges = session.scalars(select(OutboxMessage).where(OutboxMessage.template == "worker_task_reminded")).all()
    assert len(nudges) == 1  # the worker is nudged once per window, not once per message
    assert nudges[0].params["customer_phone"] == county.a1_phone


def test_a_report_after_the_ticket_is_resolved_opens_a_new_one(
    client: TestClient, county: County, actions_headers: dict[str, str], worker_headers: dict[str, str]
) -> None:
    first = report(client, actions_headers, "n1", account_no=county.a1)
    for event in ("accept", "arrive", "resolve"):
        r = client.post(f"/api/v1/tickets/{first['ticket_no']}/events", json={"type": event}, headers=worker_headers)
        assert r.status_code == 200, r.text
    second = report(client, actions_headers, "n2", account_no=county.a1, description="又停电了")
    assert second["outcome"] == "ticket_created" and second["ticket_no"] != first["ticket_no"]


def test_an_address_that_matches_no_customer_goes_to_the_dispatch_centre(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    answer = report(
        client, actions_headers, "lost", address="城关镇新村路18号", sender_id="o_new", callback_phone="13912345678"
    )
    assert answer["outcome"] == "ticket_created" and answer["status"] == "received"
    assert answer["deadline"] is None and answer["worker"] is None
    queue = client.get("/api/v1/dispatch-queue", headers=admin_headers).json()
    assert [t["ticket_no"] for t in queue] == [answer["ticket_no"]]
    assert queue[0]["address"] == "城关镇新村路18号" and queue[0]["account_no"] is None
    assert queue[0]["timeline"][-1]["type"] == "manual_dispatch"
    assert client.get("/api/v1/dispatch-queue", headers=actions_headers).status_code == 403

    before = clock.now()
    r = client.post(f"/api/v1/tickets/{answer['ticket_no']}/assign", json={"worker_code": "W2"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    placed = r.json()
    assert placed["status"] == "dispatched" and placed["worker"]["code"] == "W2"
    deadline = datetime.fromisoformat(placed["arrival_deadline"])
    assert timedelta(minutes=89) < deadline - before < timedelta(minutes=91)  # unknown area: the rural limit
    assert client.get("/api/v1/dispatch-queue", headers=admin_headers).json() == []
    with session_factory() as session:
        pushes = {m.template: m for m in session.scalars(select(OutboxMessage))}
    assert pushes["ticket_dispatched"].wechat_openid == "o_new"  # the reporter hears of it on WeChat
    assert pushes["worker_task_assigned"].params["address"] == "城关镇新村路18号"
    assert pushes["worker_task_assigned"].params["customer_phone"] == "13912345678"
    again = client.post(
        f"/api/v1/tickets/{answer['ticket_no']}/assign", json={"worker_code": "W1"}, headers=admin_headers
    )
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"


def test_a_hazard_from_a_passer_by_is_never_turned_away(
    client: TestClient, county: County, actions_headers: dict[str, str]
) -> None:
    answer = report(
        client,
        actions_headers,
        "street",
        kind="hazard",
        sender_id="o_passer_by",
        description="路口电线断了",
        address="某某路口",
    )
    assert answer["outcome"] == "ticket_created" and answer["priority"] == "urgent"
    unknown_account = client.post(
        "/api/v1/repair-reports",
        json={"account_no": "9999999999", "channel": "wechat", "sender_id": "o_x", "description": "停电"},
        headers=actions_headers | {"Idempotency-Key": "typo"},
    )
    assert unknown_account.status_code == 404  # a mistyped 户号 is asked again, not guessed


def test_concurrent_reports_of_one_customer_with_different_keys_open_one_ticket(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Widen the gap between "has the customer an open repair ticket?" and opening one, so that
    # every report has checked before the first ticket commits unless the check is serialized.
    answers = reports_at_once(
        monkeypatch,
        tickets,
        "open_repair_of",
        4,
        lambda n: report(client, actions_headers, f"wechat-msg-{n}", account_no=county.a1, description="家里停电了"),
    )
    assert sorted(a["outcome"] for a in answers) == ["attached_to_ticket"] * 3 + ["ticket_created"]
    assert len({a["ticket_no"] for a in answers}) == 1
    assert tickets_count(session_factory) == 1


def test_concurrent_reports_inside_an_outage_subscribe_the_customer_once(
    client: TestClient,
    county: County,
    admin_headers: dict[str, str],
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = clock.now()
    body = {
        "kind": "fault",
        "cause": "10kV线路故障",
        "starts_at": (now - timedelta(minutes=5)).isoformat(),
        "estimated_restore_at": (now + timedelta(hours=2)).isoformat(),
        "transformer_codes": ["T1"],
    }
    assert client.post("/api/v1/outages", json=body, headers=admin_headers).status_code == 201
    answers = reports_at_once(
        monkeypatch,
        outages,
        "covering_now",
        3,
        lambda n: report(client, actions_headers, f"outage-msg-{n}", account_no=county.a1),
    )
    assert {a["outcome"] for a in answers} == {"attached_to_outage"}
    with session_factory() as session:
        assert session.scalar(select(func.count(OutageSubscription.id))) == 1
