"""The customer calls their repair off (power came back): `POST /tickets/{no}/withdrawal` cancels a
ticket nobody is on site for yet, with their words on its timeline, and tells its worker at once not
to come; only the reporter or the account's owner may, and a visit under way, a hazard or a ticket
no longer open is refused with its reason."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.notifications.models import OutboxMessage
from tests.backend.conftest import County, speaking_for


def filed(client: TestClient, county: County, headers: dict[str, str], key: str, kind: str = "repair") -> str:
    body = {"account_no": county.a1, "channel": "wechat", "sender_id": county.a1_openid, "description": "停电"}
    r = client.post("/api/v1/repair-reports", json=body | {"kind": kind}, headers=headers | {"Idempotency-Key": key})
    assert r.status_code == 200, r.text
    return str(r.json()["ticket_no"])


def withdraw(client: TestClient, ticket_no: str, sender: str, reason: str = "已经来电了，不用修了") -> Response:
    return client.post(f"/api/v1/tickets/{ticket_no}/withdrawal", json={"reason": reason}, headers=speaking_for(sender))


def test_the_owner_calls_the_repair_off_and_the_worker_is_told_once(
    client: TestClient, county: County, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    ticket_no = filed(client, county, actions_headers, "withdraw-1")
    stranger = withdraw(client, ticket_no, "wechat:o_stranger")
    assert stranger.status_code == 403
    assert withdraw(client, ticket_no, f"wechat:{county.a1_openid}", reason="").status_code == 422

    done = withdraw(client, ticket_no, f"wechat:{county.a1_openid}")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "cancelled"
    assert done.json()["timeline"][-1]["note"] == "客户撤销：已经来电了，不用修了"
    again = withdraw(client, ticket_no, f"wechat:{county.a1_openid}")
    assert again.status_code == 409 and again.json()["code"] == "not_withdrawable"

    with session_factory() as session:
        told = list(session.scalars(select(OutboxMessage).where(OutboxMessage.template == "worker_task_withdrawn")))
    assert len(told) == 1 and told[0].worker_id is not None and told[0].urgent
    assert told[0].params["ticket_no"] == ticket_no and told[0].params["reason"] == "已经来电了，不用修了"


def test_a_worker_on_site_finishes_the_visit(
    client: TestClient, county: County, actions_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    ticket_no = filed(client, county, actions_headers, "withdraw-2")
    for step in ("accept", "arrive"):
        r = client.post(f"/api/v1/tickets/{ticket_no}/events", json={"type": step, "worker_code": "W1"},
                        headers=admin_headers)  # fmt: skip
        assert r.status_code == 200, r.text
    refused = withdraw(client, ticket_no, f"wechat:{county.a1_openid}")
    assert refused.status_code == 409 and refused.json()["code"] == "worker_on_site"


def test_a_hazard_is_looked_at_whatever(client: TestClient, county: County, actions_headers: dict[str, str]) -> None:
    ticket_no = filed(client, county, actions_headers, "withdraw-3", kind="hazard")
    refused = withdraw(client, ticket_no, f"wechat:{county.a1_openid}", reason="不用来了")
    assert refused.status_code == 409 and refused.json()["code"] == "not_withdrawable"
