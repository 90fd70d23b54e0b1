"""`HANDOFF_WECHAT_DELIVERY=wechat_kf`: WeChat customers go to the official account's own customer
service (kf sessions) through its API, against the simulator speaking that protocol; the session's
end, reported by the WeChat channel, hands the customer back to the assistant."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.main import create_app
from backend.notifications.models import OutboxMessage
from tests.backend.conftest import County
from tests.backend.handoffs.conftest import Staff, line
from tests.notifier.harness import Simulator, simulator

KF1, KF2 = "kf2001@gh_powerdesk95598", "kf2002@gh_powerdesk95598"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with simulator() as running:
        yield running


@pytest.fixture
def kf_client(settings: Settings, sim: Simulator) -> Iterator[TestClient]:
    kf = settings.model_copy(
        update={
            "handoff_wechat_delivery": "wechat_kf",
            "wechat_app_id": sim.settings.wechat_app_id,
            "wechat_app_secret": sim.settings.wechat_app_secret,
            "wechat_api_base_url": sim.url,
        }
    )
    with TestClient(create_app(kf)) as client:
        yield client


def ask(client: TestClient, headers: dict[str, str], openid: str) -> dict:
    body = {"channel": "wechat", "sender_id": openid, "reason": "咨询电费", "transcript": [line("customer", "转人工")]}
    answer = client.post("/api/v1/handoffs", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_wechat_customers_get_a_kf_session_with_the_least_busy_account_online(
    kf_client: TestClient, county: County, actions_headers: dict[str, str], sim: Simulator
) -> None:
    first = ask(kf_client, actions_headers, "o_kf_customer_01")
    assert (first["status"], first["agents_online"], first["queue_position"]) == ("active", 2, None)
    second = ask(kf_client, actions_headers, "o_kf_customer_02")
    assert ask(kf_client, actions_headers, "o_kf_customer_01")["id"] == first["id"]  # asking again: the same one
    created = sim.wechat_calls("kfsession_create")
    assert [(c["to"], c["kf_account"], c["errcode"]) for c in created] == [
        ("o_kf_customer_01", KF1, 0),
        ("o_kf_customer_02", KF2, 0),
    ]
    assert created[0]["content"] == "客户诉求：咨询电费。最近对话：客户：转人工"
    detail = kf_client.get(f"/api/v1/handoffs/{second['id']}", headers=actions_headers).json()
    assert (detail["kf_account"], detail["agent"]) == (KF2, None)
    session = httpx.get(f"{sim.url}/sim/records", params={"api": "kfsession_create"}).json()
    assert len(session) == 2
    # while the session holds, WeChat forwards the customer's messages to the kf account, not to us
    sent = httpx.post(f"{sim.url}/sim/wechat/users/o_kf_customer_01/send", json={"type": "text", "content": "在吗"})
    assert sent.json() == {"status": "to_kf", "kf_account": KF1}


def test_with_no_kf_account_online_nothing_is_queued(
    kf_client: TestClient, county: County, actions_headers: dict[str, str], sim: Simulator
) -> None:
    for account in (KF1, KF2):
        httpx.put(f"{sim.url}/sim/wechat/kf/{account}", json={"online": False}).raise_for_status()
    answer = ask(kf_client, actions_headers, "o_kf_customer_03")
    assert (answer["status"], answer["unavailable_reason"], answer["agents_online"]) == (
        "unavailable", "no_agent_on_duty", 0,
    )  # fmt: skip
    assert not sim.wechat_calls("kfsession_create")


def test_the_end_of_the_kf_session_hands_the_customer_back_to_the_assistant(
    kf_client: TestClient, county: County, actions_headers: dict[str, str], sim: Simulator,
    admin_headers: dict[str, str], session_factory: sessionmaker[Session],
) -> None:  # fmt: skip
    first = ask(kf_client, actions_headers, "o_kf_customer_04")
    # our agents cannot take or answer a conversation WeChat's customer service holds
    people = Staff(kf_client, admin_headers, session_factory)
    lin = people.hire("lin")
    refused = kf_client.post(f"/api/v1/handoffs/{first['id']}/messages", json={"text": "您好"}, headers=lin.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "handled_in_wechat_kf"
    switch = {"event": "kf_switch_session", "openid": "o_kf_customer_04", "kf_account": KF1, "to_kf_account": KF2}
    assert kf_client.post("/api/v1/handoffs/wechat-kf-events", json=switch, headers=actions_headers).status_code == 204
    close = {"event": "kf_close_session", "openid": "o_kf_customer_04", "kf_account": KF2}
    assert kf_client.post("/api/v1/handoffs/wechat-kf-events", json=close, headers=actions_headers).status_code == 204
    ended = kf_client.get(f"/api/v1/handoffs/{first['id']}", headers=actions_headers).json()
    assert (ended["status"], ended["kf_account"]) == ("closed", KF2)
    assert [e["event"] for e in ended["timeline"]] == ["kf_session", "kf_session", "kf_session"]
    with session_factory() as session:
        pushes = [(p.template, p.wechat_openid) for p in session.scalars(select(OutboxMessage))]
    assert pushes == [("handoff_closed", "o_kf_customer_04")]
    # a session that lapsed (30 minutes, no close): the customer's next message ends it
    second = ask(kf_client, actions_headers, "o_kf_customer_05")
    message = {"text": "还在吗", "at": "2026-11-22T11:00:00+08:00"}
    answer = kf_client.post(f"/api/v1/handoffs/{second['id']}/customer-messages", json=message, headers=actions_headers)
    assert answer.json() == {"status": "closed", "acknowledge": False}
