"""Why a push failed, as the dispatchers read it: the notifier records the cause of each channel when
it gives a push up, and the live overview's dead letters say it in plain Chinese (`reason`), never
in the platforms' or the notifier's own words."""

from __future__ import annotations

import re

import httpx
import pytest

from backend.live.service import Overview
from backend.notifications import failures, service
from tests.backend.notifications.test_notify_delivery import OPENID, TICKET, bind_wechat, customer_id, push
from tests.notifier.harness import drain, make_notifier, notifier_settings, rows

LATIN = re.compile(r"[A-Za-z]")


def dead_reasons(session_factory) -> list[str]:  # type: ignore[no-untyped-def]
    dead = Overview(session_factory).get()["dead_letters"]["latest"]
    assert all(not LATIN.search(d["reason"]) for d in dead), dead
    return [d["reason"] for d in dead]


def test_outside_the_window_without_a_template_and_opted_out_of_sms(session_factory, county, settings, sim):
    config = notifier_settings(settings.database_url, settings.redis_url, sim, wechat_notice_template_id="")
    notifier = make_notifier(session_factory, config)
    a2 = bind_wechat(session_factory, county)
    notifier.senders.customer_service.window.opened(OPENID, by_message=True)  # type: ignore[union-attr]
    httpx.put(f"{sim.url}/sim/wechat/users/{OPENID}/window", json={"last_message_hours_ago": 50})  # WeChat: 45015
    with session_factory() as session, session.begin():
        service.block_sms(session, county.a2_phone, "opt_out")
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=a2)
    drain(notifier, session_factory)
    (row,) = rows(session_factory)
    assert row.status == "dead" and not sim.sms
    assert dead_reasons(session_factory) == ["用户已退订短信；超出48小时客服消息窗口且无模板消息"]


def test_an_unfollowed_user_whose_sms_the_carrier_refuses(
    session_factory, county, settings, sim, client, actions_headers
):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    a2 = bind_wechat(session_factory, county)
    url = f"/api/v1/notifications/wechat-followers/{OPENID}"
    assert client.put(url, json={"following": False}, headers=actions_headers).status_code == 204
    httpx.put(f"{sim.url}/sim/sms/faults", json={"mode": "code", "code": "isv.SMS_CONTENT_ILLEGAL"})
    push(session_factory, "ticket:QX202611220001:dispatched", customer_id=a2)
    drain(notifier, session_factory)
    assert rows(session_factory)[0].status == "dead"
    assert dead_reasons(session_factory) == ["用户已取消关注公众号；短信发送失败（运营商拒收）"]


def test_params_that_do_not_fit_and_a_provider_down_through_every_retry(session_factory, county, settings, sim):
    config = notifier_settings(settings.database_url, settings.redis_url, sim, notifier_max_attempts=2)
    notifier = make_notifier(session_factory, config)
    a2 = customer_id(session_factory, county.a2)
    push(session_factory, "ticket:QX202611220001:dispatched", params={"deadline": TICKET["deadline"]}, customer_id=a2)
    drain(notifier, session_factory)
    httpx.put(f"{sim.url}/sim/sms/faults", json={"mode": "fail"})
    push(session_factory, "ticket:QX202611220001:accepted", "ticket_accepted", customer_id=a2)
    drain(notifier, session_factory, rounds=200)
    assert [r.status for r in rows(session_factory)] == ["dead", "dead"]
    assert dead_reasons(session_factory) == ["多次重试仍未发出（短信平台暂时无法发送）", "模板参数错误，消息无法生成"]


def test_a_number_known_to_be_invalid(session_factory, county, settings, sim):
    with session_factory() as session, session.begin():
        service.block_sms(session, "13800000009", "invalid")
    push(session_factory, "chat:p:1", "chat_reply", {"text": "您好"}, phone="13800000009")
    drain(
        make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim)),
        session_factory,
    )
    assert dead_reasons(session_factory) == ["手机号码无效"]


@pytest.mark.parametrize(
    ("last_error", "said"),
    [
        ("no reachable channel", "无可用渠道"),  # written before the causes were recorded
        (failures.unreachable({"none": "no_address"}), "未登记手机号或微信"),
        (failures.unreachable({"wecom": "invalid_id", "sms": "not_configured"}), "企业微信账号无效；短信渠道未开通"),
        (
            failures.unreachable({"wechat_cs": "unfollowed", "wechat_template": "refused"}),
            "用户已取消关注公众号；用户已拒收公众号消息",
        ),
        (failures.unreachable({"sms": failures.cause_of("not delivered: MK:0001")}), "短信未送达（运营商拒收）"),
        ("sms not delivered: MK:0001", "短信未送达（运营商拒收）"),
        ("wechat_template: -1 system busy; sms: 503 unavailable", "多次重试仍未发出（微信、短信平台暂时无法发送）"),
        ("something nobody wrote", "未能发出，原因不明"),
        (None, "未能发出，原因不明"),
    ],
)
def test_each_recorded_failure_reads_as_plain_chinese(last_error: str | None, said: str) -> None:
    assert failures.reason(last_error) == said
