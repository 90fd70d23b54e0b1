"""Repair reports: attach to a covering outage or open and dispatch a ticket; idempotent under retries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.notifications.models import OutboxMessage
from backend.outages.models import OutageSubscription
from backend.tickets.models import Ticket
from tests.backend.conftest import County


def report(client: TestClient, headers: dict[str, str], key: str, **body: object) -> dict:
    payload = {"channel": "wechat", "sender_id": "o_a1", "description": "家里没电了"} | body
    r = client.post("/api/v1/repair-reports", json=payload, headers=headers | {"Idempotency-Key": key})
    assert r.status_code == 200, r.text
    return r.json()


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
    assert answer["worker"] == {"name": "网格员W1", "phone_masked": "139****0000"}
    deadline = datetime.fromisoformat(answer["deadline"])
    assert timedelta(minutes=44) < deadline - before < timedelta(minutes=46)  # urban: 45 minutes
    assert deadline.utcoffset() == timedelta(hours=8)
    with session_factory() as session:
        keys = set(session.scalars(select(OutboxMessage.dedup_key)))
    assert keys == {f"ticket:{answer['ticket_no']}:dispatched", f"ticket:{answer['ticket_no']}:assigned:W1"}


def test_the_customer_is_found_by_phone_address_or_wechat_binding(
    client: TestClient, county: County, actions_headers: dict[str, str]
) -> None:
    assert report(client, actions_headers, "by-openid")["ticket_no"]  # sender o_a1 is bound to A1
    by_address = report(client, actions_headers, "by-address", address="人民路2号", sender_id="o_x")
    by_ticket = client.get(f"/api/v1/tickets/{by_address['ticket_no']}", headers=actions_headers).json()
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


def test_parallel_reports_with_different_keys_get_distinct_numbers(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    def send(n: int) -> str:
        r = client.post(
            "/api/v1/repair-reports",
            json={"account_no": county.a2, "channel": "wechat", "sender_id": f"o_{n}", "description": "停电"},
            headers=actions_headers | {"Idempotency-Key": f"key-{n}"},
        )
        assert r.status_code == 200, r.text
        return r.json()["ticket_no"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(send, range(16)))
    assert len(set(numbers)) == 16
    assert tickets_count(session_factory) == 16
