"""A one-time code is in the outbox only while its push needs it: the bind code's `code` param is
masked in the write that marks the push sent or given up, the code still binds (its hash is kept by
identity), and a push whose code is masked is never sent again."""

from __future__ import annotations

import httpx

from backend.notifications.models import OutboxMessage
from backend.notifications.templates import SECRET_MASK
from tests.backend.notifications.test_notify_reports import REPORTS, report
from tests.notifier.harness import drain, make_notifier, notifier_settings, rows

OPENID = "o_new_owner_of_a2"


def ask_for_a_code(client, county, actions_headers) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(
        "/api/v1/identity/bind-codes", json={"wechat_openid": OPENID, "account_no": county.a2}, headers=actions_headers
    )
    assert answer.status_code == 201


def bind_code_push(session_factory) -> OutboxMessage:  # type: ignore[no-untyped-def]
    (row,) = [r for r in rows(session_factory) if r.template == "bind_code"]
    return row


def test_the_code_is_masked_once_sent_and_still_binds(session_factory, county, settings, sim, client, actions_headers):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    ask_for_a_code(client, county, actions_headers)
    pending = bind_code_push(session_factory)
    code = pending.params["code"]
    assert pending.status == "pending" and len(code) == 6 and code.isdigit()  # the notifier needs it now

    drain(notifier, session_factory)
    (sms,) = sim.sms
    assert sms.phone == county.a2_phone and sms.params["code"] == code and code in sms.text
    sent = bind_code_push(session_factory)
    assert sent.status == "sent" and sent.params == {**pending.params, "code": SECRET_MASK}

    bound = client.post(
        "/api/v1/identity/bind",
        json={"wechat_openid": OPENID, "account_no": county.a2, "code": code},
        headers=actions_headers,
    )
    assert bound.status_code == 200 and bound.json()["account_no"] == county.a2


def test_the_code_is_masked_when_its_push_is_given_up(session_factory, county, settings, sim, client, actions_headers):
    config = notifier_settings(settings.database_url, settings.redis_url, sim, notifier_max_attempts=2)
    httpx.put(f"{sim.url}/sim/sms/faults", json={"mode": "fail"})
    ask_for_a_code(client, county, actions_headers)
    drain(make_notifier(session_factory, config), session_factory, rounds=200)
    dead = bind_code_push(session_factory)
    assert (dead.status, dead.attempts, dead.params["code"]) == ("dead", 2, SECRET_MASK)
    assert not sim.sms


def test_a_code_not_delivered_is_not_sent_again_masked(session_factory, county, settings, sim, client, actions_headers):
    notifier = make_notifier(session_factory, notifier_settings(settings.database_url, settings.redis_url, sim))
    ask_for_a_code(client, county, actions_headers)
    drain(notifier, session_factory)
    sent = bind_code_push(session_factory)
    failed = {"reports": [report(sent, delivered=False, code="MK:0001")]}
    assert client.post(REPORTS, json=failed, headers=actions_headers).json() == {
        "applied": 1,
        "resent": 0,
        "unknown": 0,
    }
    drain(notifier, session_factory)
    dead = bind_code_push(session_factory)
    assert (dead.status, dead.delivery_error, dead.params["code"]) == ("dead", "MK:0001", SECRET_MASK)
    assert len(sim.sms) == 1  # the customer asks for a new code; the masked one never goes out
