"""What hand-offs send, carried by the real notifier to the simulated platforms: agents' replies on
the customer's own channel with the platform rules (RELIABILITY rows 26-28) and their delivery
status visible to the agent, the notice that the assistant is back, the manager's WeCom message,
and the duty supervisor's alert of customers waiting too long."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.handoffs.models import Handoff
from backend.handoffs.scheduled import alert_long_waits
from backend.notifications.worker import Notifier
from tests.backend.conftest import County
from tests.backend.handoffs.conftest import Person, Staff, line
from tests.notifier.harness import (
    NOTICE_TEMPLATE_ID,
    Simulator,
    drain,
    make_notifier,
    notifier_settings,
    rows,
    simulator,
)

OPENID = "o_customer_handoff_01"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with simulator() as running:
        yield running


@pytest.fixture
def notifier(session_factory: sessionmaker[Session], settings: Settings, sim: Simulator) -> Notifier:
    return make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))


@pytest.fixture(autouse=True)
def _no_window_left(settings: Settings, sim: Simulator) -> Iterator[None]:
    """Customer-service windows live in Redis (per app id, fresh for each simulator): nothing to clear
    but the SMS limits, which are per phone."""
    from redis import Redis

    client = Redis.from_url(settings.redis_url, socket_timeout=1, decode_responses=True)
    for key in client.scan_iter("pd:sms:limit:*"):
        client.delete(key)
    yield
    client.close()


def talking(client: TestClient, staff: Staff, actions_headers: dict[str, str], **request: str) -> tuple[int, Person]:
    """A customer handed over by the assistant and taken by agent 林晓."""
    lin = staff.hire("lin", name="林晓")
    staff.on_duty(lin)
    body = {"channel": "wechat", "sender_id": OPENID, "transcript": [line("customer", "转人工")]} | request
    handoff = client.post("/api/v1/handoffs", json=body, headers=actions_headers).json()
    assert client.post(f"/api/v1/handoffs/{handoff['id']}/claim", json={"agent": "lin"}, headers=lin.headers).is_success
    return handoff["id"], lin


def customer_wrote(sim: Simulator, notifier: Notifier, hours_ago: float) -> None:
    """The customer's last message, as the simulated WeChat and our channel (Redis window) record it."""
    httpx.put(
        f"{sim.url}/sim/wechat/users/{OPENID}/window", json={"last_message_hours_ago": hours_ago}
    ).raise_for_status()
    assert notifier.senders.customer_service is not None
    notifier.senders.customer_service.window.opened(OPENID, by_message=True)


def last_line(client: TestClient, handoff_id: int, headers: dict[str, str]) -> dict:
    return client.get(f"/api/v1/handoffs/{handoff_id}", headers=headers).json()["transcript"][-1]


def test_a_reply_inside_the_48_hour_window_is_a_customer_service_message(
    client: TestClient, county: County, actions_headers: dict[str, str], staff: Staff,
    sim: Simulator, notifier: Notifier, session_factory: sessionmaker[Session],
) -> None:  # fmt: skip
    handoff_id, lin = talking(client, staff, actions_headers)
    customer_wrote(sim, notifier, hours_ago=1)
    reply = {"text": "您好，我是人工客服林晓，您家的停电是线路检修，预计下午三点恢复。", "client_key": "reply-0001"}
    client.post(f"/api/v1/handoffs/{handoff_id}/messages", json=reply, headers=lin.headers)
    assert last_line(client, handoff_id, lin.headers)["delivery"] == "pending"
    drain(notifier, session_factory)
    (sent,) = sim.wechat_calls("custom_send")
    assert (sent["to"], sent["errcode"]) == (OPENID, 0)
    assert sent["content"] == "人工客服林晓：" + reply["text"]
    shown = last_line(client, handoff_id, lin.headers)
    assert (shown["delivery"], shown["delivery_channel"]) == ("sent", "wechat_cs")


def test_row_26_a_reply_outside_the_window_goes_as_a_template_message(
    client: TestClient, county: County, actions_headers: dict[str, str], staff: Staff,
    sim: Simulator, notifier: Notifier, session_factory: sessionmaker[Session],
) -> None:  # fmt: skip
    handoff_id, lin = talking(client, staff, actions_headers)
    customer_wrote(sim, notifier, hours_ago=50)  # WeChat answers 45015 to a customer-service message
    client.post(f"/api/v1/handoffs/{handoff_id}/messages", json={"text": "您好，已为您查询"}, headers=lin.headers)
    drain(notifier, session_factory)
    assert [c["errcode"] for c in sim.wechat_calls("custom_send")] == [45015]
    (template,) = sim.wechat_calls("template_send")
    assert template["to"] == OPENID and template["template_id"] == NOTICE_TEMPLATE_ID
    assert "人工客服林晓：您好，已为您查询" in template["content"]
    shown = last_line(client, handoff_id, lin.headers)
    assert (shown["delivery"], shown["delivery_channel"]) == ("sent", "wechat_template")


def test_an_sms_customer_is_answered_by_sms_and_told_once_when_the_assistant_is_back(
    client: TestClient, county: County, actions_headers: dict[str, str], staff: Staff,
    sim: Simulator, notifier: Notifier, session_factory: sessionmaker[Session],
) -> None:  # fmt: skip
    handoff_id, lin = talking(client, staff, actions_headers, channel="sms", sender_id="13800000009")
    client.post(
        f"/api/v1/handoffs/{handoff_id}/messages", json={"text": "您好，请问您的户号是多少？"}, headers=lin.headers
    )
    drain(notifier, session_factory)
    # (the notifier delivers at least once: a gateway that answers too late may get a message twice)
    assert {(m.phone, m.text) for m in sim.sms} == {("13800000009", "人工客服林晓：您好，请问您的户号是多少？")}
    shown = last_line(client, handoff_id, lin.headers)
    assert (shown["delivery"], shown["delivery_channel"]) == ("sent", "sms")
    release = client.post(f"/api/v1/handoffs/{handoff_id}/release", json={"summary": "已登记报修"}, headers=lin.headers)
    assert release.is_success
    client.post(f"/api/v1/handoffs/{handoff_id}/release", json={"summary": "已登记报修"}, headers=lin.headers)
    drain(notifier, session_factory)
    assert list(dict.fromkeys(m.template for m in sim.sms)) == ["agent_reply", "handoff_released"]
    assert sim.sms[-1].text.startswith("人工客服已为您处理：已登记报修。")
    assert [(r.template, r.status, r.channel) for r in rows(session_factory)] == [
        ("agent_reply", "sent", "sms"),
        ("handoff_released", "sent", "sms"),
    ]  # one push each: the second release was refused
    assert not sim.wechat_calls("custom_send")


def test_the_managers_wecom_gets_the_request_with_the_conversation(
    client: TestClient, county: County, actions_headers: dict[str, str], admin_headers: dict[str, str],
    staff: Staff, sim: Simulator, notifier: Notifier, session_factory: sessionmaker[Session],
) -> None:  # fmt: skip
    customer = {
        "account_no": "1000000008", "name": "青山县鑫源超市", "phone": "13800000008", "address": "人民路8号",
        "customer_type": "business", "area_type": "urban", "transformer_code": "T1",
        "manager_name": "陈思远", "manager_phone": "13700137001",
    }  # fmt: skip
    client.post("/api/v1/customers", json=customer, headers=admin_headers).raise_for_status()
    staff.hire("chen", role="manager", name="陈思远", phone="13700137001", wecom_user_id="wg_manager_chen")
    body = {
        "channel": "wechat", "sender_id": OPENID, "account_no": "1000000008", "target": "manager",
        "reason": "咨询增容进度", "transcript": [line("customer", "我要找客户经理")],
    }  # fmt: skip
    assert client.post("/api/v1/handoffs", json=body, headers=actions_headers).json()["status"] == "manager"
    drain(notifier, session_factory)
    (message,) = [c for c in sim.wecom_calls() if c.get("api") == "message_send" and c.get("to") == "wg_manager_chen"]
    assert message["status"] == "delivered"
    for part in ("青山县鑫源超市", "1000000008", "13800000008", "咨询增容进度", "客户：我要找客户经理"):
        assert part in message["content"]
    assert not sim.wechat_calls("custom_send") and not sim.sms


def test_the_duty_supervisor_is_told_once_of_customers_waiting_too_long(
    client: TestClient, county: County, actions_headers: dict[str, str], settings: Settings,
    staff: Staff, sim: Simulator, notifier: Notifier, session_factory: sessionmaker[Session],
) -> None:  # fmt: skip
    staff.hire("wuqian", role="supervisor", name="吴倩", wecom_user_id="kf_supervisor_wu")
    staff.on_duty(staff.hire("lin"))
    waiting = [
        client.post(
            "/api/v1/handoffs", json={"channel": "sms", "sender_id": f"1380000001{n}"}, headers=actions_headers
        ).json()["id"]
        for n in range(3)
    ]

    def run() -> int:
        with session_factory() as session, session.begin():
            return alert_long_waits(session, settings)

    assert run() == 0  # nobody has waited 5 minutes yet
    with session_factory() as session, session.begin():
        session.execute(
            update(Handoff).where(Handoff.id.in_(waiting[:2])).values(created_at=clock.now() - timedelta(minutes=12))
        )
    assert run() == 2
    assert run() == 0  # reported once
    drain(notifier, session_factory)
    (alert,) = [c for c in sim.wecom_calls() if c.get("to") == "kf_supervisor_wu"]
    assert alert["content"] == "人工坐席排队提醒：2位客户已等待超过5分钟，最长已等12分钟，当前在线坐席1人，请协调接待。"
