"""Tickets: the state machine (property-tested), timeline, deadlines, ratings, photos, complaints."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.core.errors import Conflict
from backend.customers import service as customers
from backend.notifications.models import OutboxMessage
from backend.tickets import service, state
from backend.tickets.models import TicketEvent
from tests.backend.conftest import County, speaking_for, worker_bearer

EVENTS = ["accept", "arrive", "resolve", "close", "cancel"]


def open_repair(factory: sessionmaker[Session], settings: Settings, account_no: str) -> str:
    with factory() as session, session.begin():
        customer = customers.get_customer(session, account_no)
        ticket = service.open_ticket(
            session,
            settings,
            kind="repair",
            customer=customer,
            channel="wechat",
            sender_id="o",
            description="停电",
            actor="assistant",
        )
        return ticket.ticket_no


def snapshot(factory: sessionmaker[Session], ticket_no: str) -> tuple[str, list[str], int]:
    with factory() as session:
        ticket = service.get_ticket(session, ticket_no)
        events = list(
            session.scalars(select(TicketEvent.type).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
        )
        pushes = session.scalar(select(func.count(OutboxMessage.id))) or 0
        return ticket.status, events, pushes


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(st.sampled_from(EVENTS), max_size=8))
def test_no_sequence_of_events_reaches_an_illegal_state(
    session_factory: sessionmaker[Session], settings: Settings, county: County, sequence: list[str]
) -> None:
    ticket_no = open_repair(session_factory, settings, county.a3)
    for event in sequence:
        status, events, pushes = snapshot(session_factory, ticket_no)
        expected = state.next_status(status, event)
        try:
            with session_factory() as session, session.begin():
                service.apply_event(session, settings, ticket_no, event=event, actor="test")
        except Conflict as refused:
            assert expected is None and refused.code == "illegal_transition"
            assert snapshot(session_factory, ticket_no) == (status, events, pushes)  # no trace
            continue
        assert expected is not None
        new_status, new_events, _ = snapshot(session_factory, ticket_no)
        assert new_status == expected
        assert new_events[-1] == state.EVENT_RECORDS[event]
    status, events, _ = snapshot(session_factory, ticket_no)
    assert status in state.STATUSES
    assert state.status_from_timeline(events) == status


def test_worker_progress_through_the_api(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    worker_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    r = client.post(
        "/api/v1/repair-reports",
        json={"account_no": county.a2, "channel": "wechat", "sender_id": "o", "description": "停电"},
        headers=actions_headers | {"Idempotency-Key": "p1"},
    )
    ticket_no = r.json()["ticket_no"]
    url = f"/api/v1/tickets/{ticket_no}"
    w3, w1 = worker_bearer("W3"), worker_bearer("W1")
    r = client.post(f"{url}/events", json={"type": "accept", "worker_code": "W3"}, headers=w3)
    assert r.status_code == 200, r.text  # W3 is the backup from the neighbour cell
    assert r.json()["worker"]["code"] == "W3" and r.json()["backup"]["code"] == "W1"
    assert (
        client.post(f"{url}/events", json={"type": "arrive", "worker_code": "W1"}, headers=w1).json()["code"]
        == "not_assigned"
    )
    arrived = client.post(f"{url}/events", json={"type": "arrive"}, headers=actions_headers).json()
    restore = datetime.fromisoformat(arrived["restore_deadline"])
    assert timedelta(hours=3, minutes=59) < restore - clock.now() < timedelta(hours=4, minutes=1)  # rural: 4 h
    resolved = client.post(f"{url}/events", json={"type": "resolve", "note": "更换熔断器"}, headers=w3).json()
    assert resolved["status"] == "resolved" and resolved["resolution"] == "更换熔断器"
    assert [e["type"] for e in resolved["timeline"]] == [
        "created",
        "dispatched",
        "accepted",
        "arrived",
        "resolved",
    ]
    assert resolved["timeline"][2]["actor"] == "worker:W3"

    with session_factory() as session:
        pushes = {m.dedup_key: m for m in session.scalars(select(OutboxMessage))}
    accepted = pushes[f"ticket:{ticket_no}:accepted"]
    assert accepted.template == "ticket_accepted" and accepted.params["worker_name"] == "网格员W3"
    assert pushes[f"ticket:{ticket_no}:resolved"].params["resolution"] == "更换熔断器"
    assert f"ticket:{ticket_no}:rating_request" in pushes

    r = client.post(f"{url}/events", json={"type": "accept"}, headers=w3)
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    with session_factory() as session:
        assert session.scalar(select(func.count(OutboxMessage.id))) == len(pushes)

    owner = speaking_for("wechat:o")  # the reporter
    assert client.post(f"{url}/rating", json={"score": 6}, headers=owner).status_code == 422
    stranger = client.post(f"{url}/rating", json={"score": 1}, headers=speaking_for("wechat:o_stranger"))
    assert stranger.status_code == 403 and stranger.json()["code"] == "verification_required"
    rated = client.post(f"{url}/rating", json={"score": 5, "comment": "很及时"}, headers=owner)
    assert rated.status_code == 200 and rated.json()["rating"] == 5
    again = client.post(f"{url}/rating", json={"score": 1}, headers=owner)
    assert again.status_code == 409 and again.json()["code"] == "already_rated"
    assert client.post(f"{url}/rating", json={"score": 5}, headers=worker_headers).status_code == 403
    closed = client.post(f"{url}/events", json={"type": "close"}, headers=actions_headers).json()
    assert closed["status"] == "closed"

    a2_owner = speaking_for(f"sms:{county.a2_phone}")
    listed = client.get("/api/v1/tickets", params={"account_no": county.a2}, headers=a2_owner).json()
    assert [t["ticket_no"] for t in listed] == [ticket_no]
    assert client.get("/api/v1/tickets", params={"account_no": county.a2, "open": True}, headers=a2_owner).json() == []


def test_photos_and_unknown_tickets(client: TestClient, county: County, actions_headers: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/repair-reports",
        json={"account_no": county.a1, "channel": "wechat", "sender_id": "o", "description": "停电"},
        headers=actions_headers | {"Idempotency-Key": "photo"},
    )
    url = f"/api/v1/tickets/{r.json()['ticket_no']}"
    assert client.post(f"{url}/photos", json={"media_id": "MEDIA1"}, headers=actions_headers).json()["photos"] == [
        "MEDIA1"
    ]
    assert client.post(f"{url}/photos", json={}, headers=actions_headers).status_code == 422
    assert client.get("/api/v1/tickets/QX202001010001", headers=actions_headers).status_code == 404
    assert client.get("/api/v1/tickets/not-a-ticket", headers=actions_headers).status_code == 422


def test_complaints_get_contact_and_answer_deadlines(
    client: TestClient, county: County, actions_headers: dict[str, str]
) -> None:
    body = {
        "kind": "complaint",
        "account_no": county.a1,
        "channel": "wechat",
        "sender_id": "o_a1",
        "description": "抢修人员态度不好",
    }
    r = client.post("/api/v1/tickets", json=body, headers=actions_headers | {"Idempotency-Key": "c1"})
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["kind"] == "complaint" and ticket["arrival_deadline"] is None
    contact = datetime.fromisoformat(ticket["contact_deadline"]) - datetime.fromisoformat(ticket["created_at"])
    assert contact == timedelta(hours=24)
    answer = datetime.fromisoformat(ticket["answer_deadline"])
    assert answer.weekday() < 5 and answer - datetime.fromisoformat(ticket["created_at"]) >= timedelta(days=4)
    assert ticket["worker"]["code"] == "S1"  # the supervisor of the customer's cell
    replay = client.post("/api/v1/tickets", json=body, headers=actions_headers | {"Idempotency-Key": "c1"})
    assert replay.json()["ticket_no"] == ticket["ticket_no"]
    assert client.post("/api/v1/tickets", json=body, headers=actions_headers).status_code == 422


def test_praise_reaches_the_worker_once_a_day_and_only_from_the_customer(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    """ "师傅很快，服务很好" is a line of the ticket's timeline and a WeCom message to its worker, once a
    day however often it is said; a stranger cannot praise (or read) someone else's ticket."""
    r = client.post(
        "/api/v1/repair-reports",
        json={"account_no": county.a1, "channel": "wechat", "sender_id": county.a1_openid, "description": "停电"},
        headers=actions_headers | {"Idempotency-Key": "praise-1"},
    )
    ticket_no = r.json()["ticket_no"]
    url = f"/api/v1/tickets/{ticket_no}/praise"
    owner = speaking_for(f"wechat:{county.a1_openid}")
    stranger = client.post(url, json={"text": "师傅很好"}, headers=speaking_for("wechat:o_stranger"))
    assert stranger.status_code == 403 and stranger.json()["code"] == "verification_required"
    assert client.post(url, json={"text": ""}, headers=owner).status_code == 422

    praised = client.post(url, json={"text": "师傅很快，服务很好"}, headers=owner)
    assert praised.status_code == 200, praised.text
    assert praised.json()["timeline"][-1]["type"] == "praised"
    assert praised.json()["timeline"][-1]["note"] == "客户表扬：师傅很快，服务很好"
    assert client.post(url, json={"text": "真的很感谢"}, headers=owner).status_code == 200

    with session_factory() as session:
        sent = list(session.scalars(select(OutboxMessage).where(OutboxMessage.template == "worker_praised")))
    assert len(sent) == 1 and sent[0].worker_id is not None
    assert sent[0].params["praise"] == "师傅很快，服务很好" and sent[0].params["ticket_no"] == ticket_no
