"""Prompts: the questions pushes asked (回复1已来电，2仍未来电; 回复1-5打分), open once the push has gone
out (delivered here by a real notifier to the simulator), and the answers the chat brings back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.notifications.models import Prompt
from backend.notifications.worker import Notifier
from tests.backend.conftest import County, Grid, pushes, report_outage, speaking_for
from tests.notifier.harness import make_notifier, notifier_settings, simulator


@pytest.fixture
def notifier(session_factory: sessionmaker[Session], settings: Settings) -> Iterator[Notifier]:
    with simulator() as sim:
        yield make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))


#: the assistant, speaking for A1 (WeChat o_a1): the prompts it answers must be A1's
A1 = speaking_for("wechat:o_a1")


def deliver(notifier: Notifier) -> None:
    """Send what is due now (a push held for later stays)."""
    while notifier.run_once():
        pass


def prompts_of(client: TestClient, headers: dict[str, str], channel: str, sender_id: str) -> list[dict]:
    r = client.get("/api/v1/prompts", params={"channel": channel, "sender_id": sender_id}, headers=headers)
    assert r.status_code == 200, r.text
    found: list[dict] = r.json()
    return found


def answer(client: TestClient, headers: dict[str, str], prompt_id: int, key: str, **body: object) -> dict:
    r = client.post(f"/api/v1/prompts/{prompt_id}/answer", json=body, headers=headers | {"Idempotency-Key": key})
    assert r.status_code == 200, r.text
    answered: dict = r.json()
    return answered


def resolved_ticket(client: TestClient, actions: dict[str, str], worker: dict[str, str], account_no: str) -> str:
    """A repair ticket of the customer, worked to its resolution."""
    body = {"account_no": account_no, "channel": "wechat", "sender_id": "o_a1", "description": "家里没电了"}
    r = client.post("/api/v1/repair-reports", json=body, headers=actions | {"Idempotency-Key": f"r-{account_no}"})
    ticket_no: str = r.json()["ticket_no"]
    for event in ("accept", "arrive", "resolve"):
        r = client.post(
            f"/api/v1/tickets/{ticket_no}/events", json={"type": event, "note": "更换熔断器"}, headers=worker
        )
        assert r.status_code == 200, r.text
    return ticket_no


def test_answer_1_thanks_and_opens_the_rating_that_the_chat_asks(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
    worker_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    notifier: Notifier,
) -> None:
    """The resolved ticket's push asks whether power is back; the question is open for the customer
    on WeChat once the push went out (not before). "1": thanked, and the rating is the next prompt,
    for the chat to ask; the rating push waiting for later is withdrawn. The rating answered rates
    the ticket. A second answer is refused; the same request retried gets the first answer."""
    ticket_no = resolved_ticket(client, actions_headers, worker_headers, county.a1)
    assert prompts_of(client, actions_headers, "wechat", county.a1_openid) == []  # not sent yet
    deliver(notifier)
    [asked] = prompts_of(client, actions_headers, "wechat", county.a1_openid)
    assert (asked["kind"], asked["ticket_no"]) == ("restore_check", ticket_no)
    assert prompts_of(client, actions_headers, "sms", county.a1_phone) == [asked]  # the same customer by SMS

    thanked = answer(client, A1, asked["id"], "msg-1", restored=True)
    assert thanked["outcome"] == "thanked" and thanked["ticket"] is None
    rating = thanked["next_prompt"]
    assert (rating["kind"], rating["ticket_no"]) == ("rating", ticket_no)
    assert prompts_of(client, actions_headers, "wechat", county.a1_openid) == [rating]
    [later] = pushes(session_factory, dedup_key=f"ticket:{ticket_no}:rating_request")
    assert later.status == "cancelled"

    assert answer(client, A1, asked["id"], "msg-1", restored=True) == thanked  # a retry
    r = client.post(
        f"/api/v1/prompts/{asked['id']}/answer",
        json={"restored": False},
        headers=A1 | {"Idempotency-Key": "msg-2"},
    )
    assert r.status_code == 409 and r.json()["code"] == "prompt_already_answered"

    assert answer(client, A1, rating["id"], "msg-3", score=5)["outcome"] == "rated"
    assert client.get(f"/api/v1/tickets/{ticket_no}", headers=admin_headers).json()["rating"] == 5
    assert prompts_of(client, actions_headers, "wechat", county.a1_openid) == []


def test_answer_2_after_an_outage_opens_the_customer_s_own_ticket_with_priority(
    client: TestClient,
    grid: Grid,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
    worker_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    notifier: Notifier,
) -> None:
    """A fault's reporters are asked after its restoration; one answers "2" by SMS: their own repair
    ticket (behind the meter, or their branch), dispatched at high priority, its worker named."""
    accounts = grid.accounts("T91")
    for account in accounts[:3]:
        report_outage(client, actions_headers, grid, account)
    fault_no = pushes(session_factory, template="worker_fault_assigned")[0].params["ticket_no"]
    for event in ("accept", "arrive", "resolve"):
        body = {"type": event, "worker_code": "W1", "note": "更换跌落式熔断器"}
        assert client.post(f"/api/v1/tickets/{fault_no}/events", json=body, headers=worker_headers).status_code == 200
    deliver(notifier)
    phone = grid.phone(accounts[0])
    [asked] = prompts_of(client, actions_headers, "sms", phone)
    assert asked["kind"] == "restore_check" and asked["outage_id"] is not None
    created = answer(client, speaking_for(f"sms:{phone}"), asked["id"], "sms-2", restored=False)
    assert created["outcome"] == "ticket_created" and created["next_prompt"] is None
    assert created["ticket"]["worker"] == {"name": "网格员W1", "phone": "13900000000"}
    ticket = client.get(f"/api/v1/tickets/{created['ticket']['ticket_no']}", headers=admin_headers).json()
    assert (ticket["account_no"], ticket["status"], ticket["priority"]) == (accounts[0], "dispatched", "high")
    assert "仍未来电" in ticket["description"]


def test_a_restore_answered_days_later_gets_a_new_ticket_not_an_error(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    worker_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    notifier: Notifier,
    settings: Settings,
) -> None:
    """Three days after a closed ticket's restoration the question is still open, and "2" opens a new
    ticket; past `prompt_open_days` it is no longer offered, and a rating that old is refused."""
    ticket_no = resolved_ticket(client, actions_headers, worker_headers, county.a1)
    assert client.post(f"/api/v1/tickets/{ticket_no}/events", json={"type": "close"}, headers=actions_headers)
    deliver(notifier)
    with session_factory() as session, session.begin():
        session.execute(update(Prompt).values(asked_at=clock.now() - timedelta(days=3)))
    [asked] = prompts_of(client, actions_headers, "wechat", county.a1_openid)
    created = answer(client, A1, asked["id"], "late-2", restored=False)
    assert created["outcome"] == "ticket_created" and created["ticket"]["ticket_no"] != ticket_no

    with session_factory() as session, session.begin():
        old = clock.now() - timedelta(days=settings.prompt_open_days, minutes=1)
        session.add(Prompt(kind="rating", status="open", customer_id=asked_customer(session, asked["id"]),
                           ticket_no=ticket_no, asked_at=old))  # fmt: skip
    assert prompts_of(client, actions_headers, "wechat", county.a1_openid) == []
    with session_factory() as session:
        stale = session.scalar(select(Prompt.id).where(Prompt.kind == "rating").order_by(Prompt.id.desc()))
    r = client.post(f"/api/v1/prompts/{stale}/answer", json={"score": 4}, headers=A1 | {"Idempotency-Key": "x"})
    assert r.status_code == 409 and r.json()["code"] == "prompt_expired"


def asked_customer(session: Session, prompt_id: int) -> int | None:
    return session.scalar(select(Prompt.customer_id).where(Prompt.id == prompt_id))


def test_answers_that_do_not_fit_are_refused_and_change_nothing(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    worker_headers: dict[str, str],
    notifier: Notifier,
    session_factory: sessionmaker[Session],
) -> None:
    resolved_ticket(client, actions_headers, worker_headers, county.a1)
    deliver(notifier)
    [asked] = prompts_of(client, actions_headers, "wechat", county.a1_openid)
    url = f"/api/v1/prompts/{asked['id']}/answer"
    for body, code in (
        ({"score": 3}, "answer_mismatch"),
        ({"score": 3, "restored": True}, "validation_error"),
        ({}, "validation_error"),
        ({"score": 6}, "validation_error"),
    ):
        r = client.post(url, json=body, headers=A1 | {"Idempotency-Key": f"bad-{code}-{len(body)}"})
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    r = client.post("/api/v1/prompts/999999/answer", json={"score": 3}, headers=A1 | {"Idempotency-Key": "k"})
    assert r.status_code == 404 and r.json()["code"] == "prompt_not_found"
    assert client.post(url, json={"restored": True}, headers=actions_headers).status_code == 422  # no key
    assert (
        client.get(
            "/api/v1/prompts", params={"channel": "wechat", "sender_id": "x"}, headers=worker_headers
        ).status_code
        == 403
    )
    with session_factory() as session:
        assert session.scalar(select(Prompt.status).where(Prompt.id == asked["id"])) == "open"


def test_every_push_that_asks_a_question_is_a_prompt_and_withdrawing_it_withdraws_the_prompt(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    worker_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    """ticket_resolved asks whether power is back, ticket_rating_request asks for a rating (two
    hours later): each is recorded as a prompt of its recipient with its push."""
    ticket_no = resolved_ticket(client, actions_headers, worker_headers, county.a1)
    with session_factory() as session:
        found = {p.dedup_key: (p.kind, p.ticket_no, p.status) for p in session.scalars(select(Prompt))}
    assert found == {
        f"ticket:{ticket_no}:resolved": ("restore_check", ticket_no, "open"),
        f"ticket:{ticket_no}:rating_request": ("rating", ticket_no, "open"),
    }
    [later] = pushes(session_factory, dedup_key=f"ticket:{ticket_no}:rating_request")
    assert timedelta(minutes=119) < later.next_attempt_at - clock.now() < timedelta(minutes=121)


def test_a_customer_answers_only_their_own_prompts(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    worker_headers: dict[str, str],
    notifier: Notifier,
) -> None:
    """The assistant speaking for somebody else gets the same 404 as for a prompt that does not
    exist; without saying whom it speaks for, 403."""
    resolved_ticket(client, actions_headers, worker_headers, county.a1)
    deliver(notifier)
    [asked] = prompts_of(client, actions_headers, "wechat", county.a1_openid)
    url = f"/api/v1/prompts/{asked['id']}/answer"
    other = client.post(
        url, json={"restored": False}, headers=speaking_for("wechat:o_other") | {"Idempotency-Key": "o"}
    )
    assert other.status_code == 404 and other.json()["code"] == "prompt_not_found"
    anonymous = client.post(url, json={"restored": False}, headers=actions_headers | {"Idempotency-Key": "a"})
    assert anonymous.status_code == 403 and anonymous.json()["code"] == "sender_required"
    assert answer(client, A1, asked["id"], "own", restored=True)["outcome"] == "thanked"
