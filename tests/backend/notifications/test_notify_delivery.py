"""The notifier against the simulator: channel choice, fallbacks, retries, limits, opt-outs."""

from __future__ import annotations

from datetime import time, timedelta

import httpx
import pytest
from redis import Redis
from sqlalchemy import select

from backend.core import clock
from backend.customers import service as customers
from backend.notifications import service
from backend.notifications.models import OutboxMessage, PushContact
from backend.notifications.outbox import enqueue
from backend.topology import service as topology
from tests.notifier.harness import NOTICE_TEMPLATE_ID, drain, make_notifier, notifier_settings, rows

TICKET = {
    "ticket_no": "QX202611220001",
    "deadline": "2026-11-22T16:30:00+08:00",
    "worker_name": "王师傅",
    "worker_phone": "13900000000",
    "address": "青山县城关镇人民路1号",
    "description": "家里没电",
}


def customer_id(factory, account_no):  # type: ignore[no-untyped-def]
    with factory() as session:
        return customers.get_customer(session, account_no).id


OPENID = "o_customer_a2_wechat"


def bind_wechat(factory, county):  # type: ignore[no-untyped-def]
    """A2 follows the account (the county's own openid is too short for the simulated WeChat)."""
    with factory() as session, session.begin():
        customer = customers.get_customer(session, county.a2)
        customers.bind_openid(session, openid=OPENID, customer=customer)
        return customer.id


def push(factory, key, template="ticket_dispatched", params=None, **recipient):  # type: ignore[no-untyped-def]
    with factory() as session, session.begin():
        row = enqueue(session, dedup_key=key, template=template, params=params or TICKET, **recipient)
        session.flush()
        return row.id


def test_customer_without_wechat_gets_sms_once(session_factory, county, settings, sim):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    push(
        session_factory,
        "ticket:QX202611220001:dispatched",
        customer_id=customer_id(session_factory, county.a2),
    )
    push(
        session_factory,
        "ticket:QX202611220001:dispatched",
        customer_id=customer_id(session_factory, county.a2),
    )
    drain(notifier, session_factory)
    assert [(m.phone, m.template) for m in sim.sms] == [("13800000002", "ticket_dispatched")]
    # the deadline is said relative to the day the test runs ("今天16:30", "11月22日16:30")
    assert sim.sms[0].text.startswith("报修已受理，工单QX202611220001，抢修人员") and "16:30前到达" in sim.sms[0].text
    (row,) = rows(session_factory)
    assert (row.status, row.channel, row.attempts) == ("sent", "sms", 1)
    assert row.provider_msg_id and row.claim_token is None


def test_tencent_provider_gets_positional_variables(session_factory, county, settings, sim):
    config = notifier_settings(settings.database_url, settings.redis_url, sim, sms_provider="tencent")
    push(
        session_factory,
        "ticket:QX202611220001:dispatched",
        customer_id=customer_id(session_factory, county.a2),
    )
    drain(make_notifier(session_factory, config), session_factory)
    (message,) = sim.sms
    assert message.provider == "tencent"
    assert message.params["ticket_no"] == "QX202611220001"
    assert rows(session_factory)[0].status == "sent"


def test_outside_window_goes_by_template_then_sms_when_refused(session_factory, county, settings, sim):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    a1 = bind_wechat(session_factory, county)
    # The customer wrote 50 h ago: WeChat answers 45015 to a customer-service message.
    notifier.senders.customer_service.window.opened(OPENID, by_message=True)  # type: ignore[union-attr]
    httpx.put(f"{sim.url}/sim/wechat/users/{OPENID}/window", json={"last_message_hours_ago": 50})
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=a1)
    drain(notifier, session_factory)
    template_sends = sim.wechat_calls("template_send")
    assert [c["errcode"] for c in sim.wechat_calls("custom_send")] == [45015]
    assert len(template_sends) == 1 and not sim.sms
    assert template_sends[0]["template_id"] == NOTICE_TEMPLATE_ID
    assert rows(session_factory)[0].channel == "wechat_template"
    # Now the customer turns template messages off (43101): the next push goes by SMS, and the
    # template channel is remembered as unreachable.
    httpx.put(f"{sim.url}/sim/wechat/users/{OPENID}/refuse-templates")
    push(session_factory, "ticket:QX202611220001:accepted", "ticket_accepted", customer_id=a1)
    drain(notifier, session_factory)
    assert [m.template for m in sim.sms] == ["ticket_accepted"]
    with session_factory() as session:
        contact = session.scalar(select(PushContact).where(PushContact.recipient_key == f"c:{a1}"))
        assert contact is not None and "wechat_template" in contact.unreachable


def test_inside_window_uses_customer_service_message(session_factory, county, settings, sim):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    a2 = bind_wechat(session_factory, county)
    httpx.put(f"{sim.url}/sim/wechat/users/{OPENID}/window", json={"last_message_hours_ago": 1})
    notifier.senders.customer_service.window.opened(OPENID, by_message=True)  # type: ignore[union-attr]
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=a2)
    drain(notifier, session_factory)
    assert len(sim.wechat_calls("custom_send")) == 1 and not sim.sms
    assert rows(session_factory)[0].channel == "wechat_cs"


def test_provider_failing_for_a_while_is_retried_then_delivered(session_factory, county, settings, sim):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    httpx.put(f"{sim.url}/sim/sms/faults", json={"mode": "fail", "count": 3})
    push(
        session_factory,
        "ticket:QX202611220001:dispatched",
        customer_id=customer_id(session_factory, county.a2),
    )
    drain(notifier, session_factory, rounds=200)
    (row,) = rows(session_factory)
    assert (row.status, row.attempts) == ("sent", 4)
    assert len(sim.sms) == 1


def test_dead_after_max_attempts_and_listed(session_factory, county, settings, sim, client, admin_headers):
    config = notifier_settings(settings.database_url, settings.redis_url, sim, notifier_max_attempts=3)
    httpx.put(f"{sim.url}/sim/sms/faults", json={"mode": "fail"})
    push(
        session_factory,
        "ticket:QX202611220001:dispatched",
        customer_id=customer_id(session_factory, county.a2),
    )
    drain(make_notifier(session_factory, config), session_factory, rounds=200)
    (row,) = rows(session_factory)
    assert (row.status, row.attempts) == ("dead", 3)
    dead = client.get("/api/v1/notifications", params={"status": "dead"}, headers=admin_headers).json()
    assert [d["dedup_key"] for d in dead] == ["ticket:QX202611220001:dispatched"]
    assert "503" in dead[0]["last_error"]


def test_opted_out_number_gets_no_sms(session_factory, county, settings, sim):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    with session_factory() as session, session.begin():
        service.block_sms(session, "13800000002", "opt_out")
    push(
        session_factory,
        "ticket:QX202611220001:dispatched",
        customer_id=customer_id(session_factory, county.a2),
    )
    drain(notifier, session_factory)
    assert not sim.sms
    assert rows(session_factory)[0].status == "dead"


def test_provider_blacklist_blocks_the_number_for_good(session_factory, county, settings, sim):
    config = notifier_settings(settings.database_url, settings.redis_url, sim, sms_provider="tencent")
    httpx.put(f"{sim.url}/sim/sms/faults", json={"mode": "code", "code": "FailedOperation.PhoneNumberInBlacklist"})
    push(
        session_factory,
        "ticket:QX202611220001:dispatched",
        customer_id=customer_id(session_factory, county.a2),
    )
    drain(make_notifier(session_factory, config), session_factory)
    with session_factory() as session:
        assert service.sms_blocks(session, ["13800000002"]) == {"13800000002": "opt_out"}
    assert rows(session_factory)[0].status == "dead"


def test_updates_over_the_phone_limit_are_coalesced(session_factory, county, settings, sim):
    config = notifier_settings(settings.database_url, settings.redis_url, sim, sms_provider="tencent")
    notifier = make_notifier(session_factory, config)
    a2 = customer_id(session_factory, county.a2)
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=a2)
    drain(notifier, session_factory)
    # The same content again within 30 s would be refused by Tencent: our limiter holds it back…
    push(session_factory, "ticket:QX202611220001:redispatched", customer_id=a2)
    assert notifier.run_once() == 1
    held = rows(session_factory)[1]
    assert held.status == "pending" and held.last_error.startswith("rate_limited") and held.attempts == 0
    # …and the updates that pile up behind it go out as one message when it is due.
    push(session_factory, "ticket:QX202611220001:accepted", "ticket_accepted", customer_id=a2)
    push(session_factory, "ticket:QX202611220001:arrived", "ticket_arrived", customer_id=a2)
    with session_factory() as session, session.begin():
        session.get(OutboxMessage, held.id).next_attempt_at = held.created_at  # type: ignore[union-attr]
    drain(notifier, session_factory)
    assert len(sim.sms) == 2
    assert sim.sms[1].template == "ticket_updates_coalesced"
    assert "已更新3次" in sim.sms[1].text and "到达现场" in sim.sms[1].text
    assert {r.status for r in rows(session_factory)} == {"sent"}
    assert [r.merged_into_id for r in rows(session_factory)][2:] == [held.id, held.id]


def test_worker_tasks_go_by_wecom_as_one_digest(session_factory, county, settings, sim):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    with session_factory() as session:
        worker_id = topology.get_worker(session, "W1").id
    for n in range(3):
        push(
            session_factory,
            f"ticket:QX20261122000{n}:assigned:W1",
            "worker_task_assigned",
            TICKET | {"ticket_no": f"QX20261122000{n}"},
            worker_id=worker_id,
        )
    drain(notifier, session_factory)
    sends = [c for c in sim.wecom_calls() if c.get("api") == "message_send"]
    assert len(sends) == 1 and "3条新任务" in str(sends[0])
    assert [r.channel for r in rows(session_factory)] == ["wecom"] * 3


def test_quiet_hours_hold_non_urgent_pushes_only(session_factory, county, settings, sim):
    config = notifier_settings(
        settings.database_url,
        settings.redis_url,
        sim,
        quiet_hours_start=time(0, 0),
        quiet_hours_end=time(23, 59),
    )
    notifier = make_notifier(session_factory, config)
    a2 = customer_id(session_factory, county.a2)
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=a2)
    with session_factory() as session, session.begin():
        enqueue(
            session,
            dedup_key="outage:1:started:2",
            template="outage_started",
            urgent=True,
            customer_id=a2,
            params={"cause": "线路故障", "estimated_restore_at": "2026-11-22T18:00:00+08:00"},
        )
    notifier.run_once()
    notifier.run_once()
    assert [m.template for m in sim.sms] == ["outage_started"]
    held = rows(session_factory)[0]
    assert held.status == "pending" and held.attempts == 0 and held.next_attempt_at > held.created_at


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_send_cut_short_by_a_crash_is_reconciled_not_repeated(session_factory, county, settings, sim, provider):
    config = notifier_settings(settings.database_url, settings.redis_url, sim, sms_provider=provider)
    notifier = make_notifier(session_factory, config)
    row_id = push(
        session_factory,
        "ticket:QX202611220001:dispatched",
        customer_id=customer_id(session_factory, county.a2),
    )
    other = push(
        session_factory,
        "ticket:QX202611220002:dispatched",
        customer_id=customer_id(session_factory, county.a3),
    )
    drain(notifier, session_factory)
    assert len(sim.sms) == 2
    # As if the notifier died after the gateway accepted the first, before it recorded it; the second
    # was marked in flight but never reached the gateway.
    with session_factory() as session, session.begin():
        for rid in (row_id, other):
            row = session.get(OutboxMessage, rid)
            assert row is not None
            row.status, row.sent_at = "pending", None
            row.claim_token, row.claimed_until = "dead-notifier", clock.now() - timedelta(seconds=1)
    gateway = sim.app.state.sms_gateway
    gateway.sent = [m for m in gateway.sent if m.out_id == f"pd{row_id}"]
    gateway._history.clear()
    redis = Redis.from_url(settings.redis_url)
    for key in redis.scan_iter("pd:sms:limit:*"):  # the resend must not wait out Tencent's 30 s rule
        redis.delete(key)
    drain(notifier, session_factory)
    assert sorted(m.out_id for m in sim.sms) == [f"pd{row_id}", f"pd{other}"]
    assert {r.status for r in rows(session_factory)} == {"sent"}


def test_worker_task_goes_by_sms_when_wecom_refuses_the_member(session_factory, county, settings, sim):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    with session_factory() as session:
        worker = topology.get_worker(session, "W2")
    fault = {"mode": "errcode", "errcode": 60111, "path_prefix": "/cgi-bin/message/send"}
    assert httpx.put(f"{sim.url}/sim/faults", json=fault).status_code == 200
    push(session_factory, "ticket:QX202611220009:assigned:W2", "worker_task_assigned", TICKET, worker_id=worker.id)
    drain(notifier, session_factory)
    assert [(m.phone, m.template) for m in sim.sms] == [(worker.phone, "worker_task_assigned")]
    with session_factory() as session:
        contact = session.scalar(select(PushContact).where(PushContact.recipient_key == f"w:{worker.id}"))
        assert contact is not None and "wecom" in contact.unreachable


def test_unfollowed_user_gets_sms_without_a_wechat_attempt_until_they_follow_again(
    session_factory, county, settings, sim, client, actions_headers
):
    """The unsubscribe event (reported by the WeChat channel) sends pushes straight to SMS; following
    again makes WeChat the first choice once more."""
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    a2 = bind_wechat(session_factory, county)
    url = f"/api/v1/notifications/wechat-followers/{OPENID}"
    assert client.put(url, json={"following": False}, headers=actions_headers).status_code == 204
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=a2)
    push(session_factory, "chat:o:1", "chat_reply", {"text": "您好"}, wechat_openid=OPENID)
    drain(notifier, session_factory)
    assert not sim.wechat_calls("custom_send") and not sim.wechat_calls("template_send")
    assert sorted(m.template for m in sim.sms) == ["chat_reply", "ticket_dispatched"]
    assert client.put(url, json={"following": True}, headers=actions_headers).status_code == 204
    push(session_factory, "ticket:QX202611220001:accepted", "ticket_accepted", customer_id=a2)
    drain(notifier, session_factory)
    assert len(sim.wechat_calls("template_send")) == 1 and len(sim.sms) == 2


def test_customer_who_prefers_sms_gets_sms_first(session_factory, county, settings, sim, client, admin_headers):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    a2 = bind_wechat(session_factory, county)
    url = f"/api/v1/customers/{county.a2}/preferred-channel"
    answer = client.put(url, json={"channel": "sms"}, headers=admin_headers)
    assert answer.status_code == 200 and answer.json() == {"channel": "sms"}
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=a2)
    drain(notifier, session_factory)
    assert [m.template for m in sim.sms] == ["ticket_dispatched"] and not sim.wechat_calls("template_send")
    assert client.put(url, json={"channel": None}, headers=admin_headers).json() == {"channel": None}
    push(session_factory, "ticket:QX202611220001:accepted", "ticket_accepted", customer_id=a2)
    drain(notifier, session_factory)
    assert len(sim.wechat_calls("template_send")) == 1 and len(sim.sms) == 1


def test_no_push_is_started_when_its_claim_could_run_out_during_the_send(session_factory, county, settings, sim):
    """A notifier starts a send only in the first half of its claim's lease; past it (here at once:
    a lease of 0 s) it hands the row back unsent and not marked unsure, for the next claim."""
    short = notifier_settings(settings.database_url, settings.redis_url, sim, notifier_claim_seconds=0)
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=customer_id(session_factory, county.a2))
    assert make_notifier(session_factory, short).run_once() == 1
    (row,) = rows(session_factory)
    assert not sim.sms
    assert (row.status, row.attempts, row.claim_token, row.sending_channel) == ("pending", 0, None, None)
    usual = notifier_settings(settings.database_url, settings.redis_url, sim)
    drain(make_notifier(session_factory, usual), session_factory)
    assert [m.template for m in sim.sms] == ["ticket_dispatched"]
    assert rows(session_factory)[0].status == "sent"


def test_an_urgent_push_claimed_with_an_older_one_of_its_recipient_goes_out_after_it(
    session_factory, county, settings, sim
):
    """An urgent push skips the line of its recipient's older non-urgent one, so both are claimed in
    one batch: they go out one after the other, in order, and what the first taught about the
    recipient (WeChat unreachable) is stored once, not raced for by two threads."""
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    a1 = bind_wechat(session_factory, county)
    notifier.senders.customer_service.window.opened(OPENID, by_message=True)  # type: ignore[union-attr]
    httpx.put(f"{sim.url}/sim/wechat/users/{OPENID}/window", json={"last_message_hours_ago": 50})
    httpx.put(f"{sim.url}/sim/wechat/users/{OPENID}/refuse-templates")
    push(session_factory, "ticket:QX202611220001:accepted", "ticket_accepted", customer_id=a1)
    with session_factory() as session, session.begin():
        enqueue(session, dedup_key="ticket:QX202611220001:resolved", template="ticket_resolved", params=TICKET,
                customer_id=a1, urgent=True)  # fmt: skip
    assert notifier.run_once() == 2  # one batch
    assert [m.template for m in sim.sms] == ["ticket_accepted", "ticket_resolved"]
    assert {row.status for row in rows(session_factory)} == {"sent"}
    with session_factory() as session:
        contacts = session.scalars(select(PushContact).where(PushContact.recipient_key == f"c:{a1}")).all()
    assert len(contacts) == 1 and "wechat_template" in contacts[0].unreachable
