"""`/api/v1/notifications`: enqueue by any address, duplicates, roles, opt-outs, dead rows."""

from __future__ import annotations

from sqlalchemy import select

from backend.notifications import service
from backend.notifications.models import OutboxMessage

BODY = {
    "recipient": {"phone": "13800000002"},
    "template": "chat_reply",
    "params": {"text": "您好，已为您查询。"},
    "dedup_key": "chat:sms:aliyun:1001",
}


def test_enqueue_a_chat_reply_by_phone(client, actions_headers, session_factory):
    answer = client.post("/api/v1/notifications", json=BODY, headers=actions_headers)
    assert answer.status_code == 201 and answer.json()["status"] == "pending"
    with session_factory() as session:
        row = session.scalar(select(OutboxMessage))
        assert row is not None and (row.phone, row.recipient_key) == ("13800000002", "p:13800000002")
    again = client.post("/api/v1/notifications", json=BODY, headers=actions_headers)
    assert again.status_code == 409 and again.json()["code"] == "duplicate"


def test_enqueue_by_account_resolves_the_customer(client, actions_headers, session_factory, county):
    body = BODY | {"recipient": {"account_no": county.a2}, "dedup_key": "k:account"}
    assert client.post("/api/v1/notifications", json=body, headers=actions_headers).status_code == 201
    with session_factory() as session:
        row = session.scalar(select(OutboxMessage))
        assert row is not None and row.customer_id is not None and row.recipient_key == f"c:{row.customer_id}"


def test_bad_requests_are_refused(client, actions_headers, worker_headers):
    two = BODY | {"recipient": {"phone": "13800000002", "wechat_openid": "o_abcdefg"}}
    assert client.post("/api/v1/notifications", json=two, headers=actions_headers).status_code == 422
    unknown = BODY | {"template": "lottery_win"}
    answer = client.post("/api/v1/notifications", json=unknown, headers=actions_headers)
    assert answer.status_code == 422 and answer.json()["code"] == "unknown_template"
    assert client.post("/api/v1/notifications", json=BODY).status_code == 401
    assert client.get("/api/v1/notifications", headers=worker_headers).status_code == 403
    missing = BODY | {"recipient": {"account_no": "9999999999"}}
    assert client.post("/api/v1/notifications", json=missing, headers=actions_headers).status_code == 404


def test_opt_out_blocks_sms_at_once(client, actions_headers, worker_headers, session_factory):
    assert (
        client.post("/api/v1/notifications/opt-outs", json={"phone": "13800000002"}, headers=worker_headers).status_code
        == 403
    )
    answer = client.post("/api/v1/notifications/opt-outs", json={"phone": "13800000002"}, headers=actions_headers)
    assert answer.status_code == 204
    assert (
        client.post(
            "/api/v1/notifications/opt-outs", json={"phone": "13800000002"}, headers=actions_headers
        ).status_code
        == 204
    )
    with session_factory() as session:
        assert service.sms_blocks(session, ["13800000002", "13800000003"]) == {"13800000002": "opt_out"}


def test_follow_and_preference_routes_check_roles_and_input(client, actions_headers, worker_headers, admin_headers):
    follow = "/api/v1/notifications/wechat-followers/o_abcdefg"
    assert client.put(follow, json={"following": False}, headers=worker_headers).status_code == 403
    assert client.put(follow, json={"following": "maybe"}, headers=actions_headers).status_code == 422

    def prefer(account_no: str, channel: str, headers: dict[str, str]) -> int:
        url = f"/api/v1/customers/{account_no}/preferred-channel"
        return client.put(url, json={"channel": channel}, headers=headers).status_code

    assert prefer("1234567890", "sms", actions_headers) == 403
    assert prefer("9999999999", "sms", admin_headers) == 404
    assert prefer("12345", "sms", admin_headers) == 422
    assert prefer("9999999999", "fax", admin_headers) == 422
