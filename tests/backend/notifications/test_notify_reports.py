"""SMS delivery reports, the way back after an opt-out, urgent notices to opted-out numbers, and the
bounds of `POST /notifications` (RELIABILITY rows 33, 35, 39, 40)."""

from __future__ import annotations

from backend.notifications import service
from backend.notifications.outbox import enqueue
from tests.backend.notifications.test_notify_delivery import bind_wechat, customer_id, push
from tests.notifier.harness import NOTICE_TEMPLATE_ID, drain, make_notifier, notifier_settings, rows

REPORTS = "/api/v1/notifications/delivery-reports"


def report(row, *, delivered: bool, code: str = "", out_id: str = "") -> dict:  # type: ignore[no-untyped-def]
    return {"provider": "aliyun", "phone": "13800000002", "msg_id": row.provider_msg_id, "out_id": out_id,
            "delivered": delivered, "code": code}  # fmt: skip


def test_row35_a_failed_delivery_report_sends_the_push_again_by_wechat_template(
    session_factory, county, settings, sim, client, actions_headers, admin_headers
):
    """The SMS was accepted but never arrived: the push goes out again as a WeChat template message,
    once, however often the report is repeated."""
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    a2 = bind_wechat(session_factory, county)
    client.put(f"/api/v1/customers/{county.a2}/preferred-channel", json={"channel": "sms"}, headers=admin_headers)
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=a2)
    drain(notifier, session_factory)
    (row,) = rows(session_factory)
    assert (row.status, row.channel) == ("sent", "sms") and not sim.wechat_calls("template_send")

    failed = {"reports": [report(row, delivered=False, code="MK:0001")]}
    answer = client.post(REPORTS, json=failed, headers=actions_headers)
    assert answer.status_code == 200 and answer.json() == {"applied": 1, "resent": 1, "unknown": 0}
    assert client.post(REPORTS, json=failed, headers=actions_headers).json() == {
        "applied": 0,
        "resent": 0,
        "unknown": 0,
    }
    drain(notifier, session_factory)
    (row,) = rows(session_factory)
    assert (row.status, row.channel, row.avoid_channel, row.delivery_error) == (
        "sent", "wechat_template", "sms", "MK:0001",
    )  # fmt: skip
    (template,) = sim.wechat_calls("template_send")
    assert template["template_id"] == NOTICE_TEMPLATE_ID and len(sim.sms) == 1


def test_a_delivered_report_is_recorded_once_and_unknown_ids_are_counted(
    session_factory, county, settings, sim, client, actions_headers
):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=customer_id(session_factory, county.a2))
    drain(notifier, session_factory)
    (row,) = rows(session_factory)
    body = {"reports": [report(row, delivered=True, code="DELIVERED"), dict(report(row, delivered=True), msg_id="x1")]}
    assert client.post(REPORTS, json=body, headers=actions_headers).json() == {"applied": 1, "resent": 0, "unknown": 1}
    assert rows(session_factory)[0].delivered_at is not None
    by_out_id = {"reports": [dict(report(row, delivered=True), msg_id="other", out_id=f"pd{row.id}")]}
    assert client.post(REPORTS, json=by_out_id, headers=actions_headers).json()["unknown"] == 0


def test_a_failed_report_for_a_customer_without_another_channel_ends_dead(
    session_factory, county, settings, sim, client, actions_headers
):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=customer_id(session_factory, county.a2))
    drain(notifier, session_factory)
    (row,) = rows(session_factory)
    client.post(REPORTS, json={"reports": [report(row, delivered=False, code="MK:0001")]}, headers=actions_headers)
    drain(notifier, session_factory)
    (row,) = rows(session_factory)
    assert row.status == "dead" and len(sim.sms) == 1


def test_delivery_reports_are_checked(client, actions_headers, worker_headers):
    good = {"provider": "aliyun", "phone": "13800000002", "msg_id": "1^2", "delivered": True}
    assert client.post(REPORTS, json={"reports": [good]}).status_code == 401
    assert client.post(REPORTS, json={"reports": [good]}, headers=worker_headers).status_code == 403
    for bad in ({"reports": []}, {"reports": [good] * 101}, {"reports": [dict(good, phone="123")]}):
        assert client.post(REPORTS, json=bad, headers=actions_headers).status_code == 422


def test_row40_urgent_notices_reach_an_opted_out_number_and_subscribe_undoes_the_opt_out(
    session_factory, county, settings, sim, client, actions_headers
):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    a2 = customer_id(session_factory, county.a2)
    assert (
        client.post(
            "/api/v1/notifications/opt-outs", json={"phone": "13800000002"}, headers=actions_headers
        ).status_code
        == 204
    )
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=a2)
    outage = {"cause": "线路故障", "estimated_restore_at": "2026-11-22T18:00:00+08:00"}
    with session_factory() as session, session.begin():
        enqueue(session, dedup_key="outage:1:started:x", template="outage_started", params=outage, customer_id=a2,
                urgent=True)  # fmt: skip
    drain(notifier, session_factory)
    assert [m.template for m in sim.sms] == ["outage_started"]
    assert [r.status for r in rows(session_factory)] == ["dead", "sent"]
    assert client.delete("/api/v1/notifications/opt-outs/13800000002", headers=actions_headers).status_code == 204
    with session_factory() as session:
        assert service.sms_blocks(session, ["13800000002"]) == {}
    push(session_factory, "ticket:QX202611220001:accepted", "ticket_accepted", customer_id=a2)
    drain(notifier, session_factory)
    assert [m.template for m in sim.sms] == ["outage_started", "ticket_accepted"]


def test_blacklisted_or_invalid_numbers_stay_blocked_for_urgent_notices_and_subscribe():
    assert service.sms_allowed(None, urgent=False) and service.sms_allowed("opt_out", urgent=True)
    assert not service.sms_allowed("opt_out", urgent=False)
    assert not service.sms_allowed("blacklist", urgent=True) and not service.sms_allowed("invalid", urgent=True)


def test_notification_params_are_bounded(client, actions_headers):
    body = {"recipient": {"phone": "13800000002"}, "template": "chat_reply", "dedup_key": "k:1",
            "params": {"text": "您好"}}  # fmt: skip
    assert client.post("/api/v1/notifications", json=body, headers=actions_headers).status_code == 201
    for params in (
        {f"p{n}": "x" for n in range(21)},
        {"text": "x" * 1001},
        {"text": {"nested": "dict"}},
        {"Bad-Name": "x"},
        {"text": ["a", "list"]},
    ):
        answer = client.post("/api/v1/notifications", json=body | {"params": params, "dedup_key": "k:2"},
                             headers=actions_headers)  # fmt: skip
        assert answer.status_code == 422, params


def test_a_body_over_the_cap_is_refused_before_authentication(client):
    """1 MiB by default: no token, and still nothing is read past the cap."""
    big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    answer = client.post("/api/v1/notifications", content=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
    chunked = client.post("/api/v1/notifications", content=iter([b" " * 600_000] * 4))
    assert chunked.status_code == 413
