"""Who is talking: WeChat openid, WeCom user id, phone; and binding an openid to an account."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.notifications.models import OutboxMessage
from tests.backend.conftest import County


def test_resolve_each_kind_of_identity(client: TestClient, county: County, actions_headers: dict[str, str]) -> None:
    by_openid = client.get("/api/v1/identity", params={"wechat_openid": county.a1_openid}, headers=actions_headers)
    assert by_openid.json()["kind"] == "customer"
    assert [c["account_no"] for c in by_openid.json()["customers"]] == [county.a1]
    assert by_openid.json()["customers"][0]["phone_masked"] == "138****0001"

    by_wecom = client.get("/api/v1/identity", params={"wecom_user_id": "wx_w1"}, headers=actions_headers).json()
    assert by_wecom["kind"] == "worker"
    assert by_wecom["worker"] == {"code": "W1", "name": "网格员W1", "grid_cell_code": "C1"}

    by_phone = client.get("/api/v1/identity", params={"phone": county.a1_phone}, headers=actions_headers).json()
    assert sorted(c["account_no"] for c in by_phone["customers"]) == [county.a1, county.a4]

    nobody = client.get("/api/v1/identity", params={"wechat_openid": "o_nobody"}, headers=actions_headers).json()
    assert nobody == {"kind": "unknown", "customers": [], "worker": None}

    assert client.get("/api/v1/identity", headers=actions_headers).status_code == 422


def sent_code(factory, phone: str) -> str:  # type: ignore[no-untyped-def]
    """The code of the newest `bind_code` push to `phone`, as the SMS would carry it."""
    with factory() as session:
        row = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == "bind_code", OutboxMessage.phone == phone)
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert row is not None, f"no bind code was sent to {phone}"
        return str(row.params["code"])


def test_bind_with_the_code_sent_to_the_registered_phone_and_the_owner_is_told(
    client: TestClient, county: County, actions_headers: dict[str, str], session_factory
) -> None:
    """The code goes by SMS to the account's phone (not to the asker); the right code binds, and the
    owner gets a notice of the new binding; binding again is refused as already bound."""
    ask = {"wechat_openid": "o_new", "account_no": county.a2}
    sent = client.post("/api/v1/identity/bind-codes", json=ask, headers=actions_headers)
    assert sent.status_code == 201 and sent.json() == {"phone_masked": "138****0002", "expires_in_minutes": 10}
    code = sent_code(session_factory, county.a2_phone)
    again = client.post("/api/v1/identity/bind-codes", json=ask, headers=actions_headers)
    assert (
        again.status_code == 201 and sent_code(session_factory, county.a2_phone) == code
    )  # no new code within a minute

    bound = client.post("/api/v1/identity/bind", json=ask | {"code": code}, headers=actions_headers)
    assert bound.status_code == 200 and bound.json()["account_no"] == county.a2
    who = client.get("/api/v1/identity", params={"wechat_openid": "o_new"}, headers=actions_headers).json()
    assert [c["account_no"] for c in who["customers"]] == [county.a2]
    with session_factory() as session:
        notices = session.scalars(select(OutboxMessage).where(OutboxMessage.template == "binding_added")).all()
        assert [(n.phone, n.urgent) for n in notices] == [(county.a2_phone, True)]
    twice = client.post("/api/v1/identity/bind-codes", json=ask, headers=actions_headers)
    assert twice.status_code == 409 and twice.json()["code"] == "already_bound"


def test_the_sixth_wrong_code_is_refused_as_locked_and_nothing_is_bound(
    client: TestClient, county: County, actions_headers: dict[str, str], session_factory
) -> None:
    """Guessing is capped: five wrong codes per WeChat user and account in a day, then a lock that
    holds even for the right code; every refusal says how many tries are left."""
    ask = {"wechat_openid": "o_guess", "account_no": county.a2}
    assert client.post("/api/v1/identity/bind-codes", json=ask, headers=actions_headers).status_code == 201
    code = sent_code(session_factory, county.a2_phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    left = []
    for _ in range(4):
        refused = client.post("/api/v1/identity/bind", json=ask | {"code": wrong}, headers=actions_headers)
        assert refused.status_code == 403 and refused.json()["code"] == "bind_code_wrong"
        left.append(refused.json()["details"]["attempts_left"])
    assert left == [4, 3, 2, 1]
    fifth = client.post("/api/v1/identity/bind", json=ask | {"code": wrong}, headers=actions_headers)
    assert fifth.status_code == 429 and fifth.json()["code"] == "bind_locked"
    sixth = client.post("/api/v1/identity/bind", json=ask | {"code": code}, headers=actions_headers)
    assert sixth.status_code == 429 and sixth.json()["code"] == "bind_locked"
    nobody = client.get("/api/v1/identity", params={"wechat_openid": "o_guess"}, headers=actions_headers).json()
    assert nobody["kind"] == "unknown"
    other = client.post("/api/v1/identity/bind-codes", json=ask | {"wechat_openid": "o_other"}, headers=actions_headers)
    assert other.status_code == 429, "the account itself is locked for the day, whoever asks"


def test_unbind(client: TestClient, county: County, actions_headers: dict[str, str]) -> None:
    mine = {"wechat_openid": county.a1_openid, "account_no": county.a1}
    assert client.post("/api/v1/identity/unbind", json=mine, headers=actions_headers).status_code == 204
    who = client.get("/api/v1/identity", params={"wechat_openid": county.a1_openid}, headers=actions_headers).json()
    assert who["kind"] == "unknown"
    again = client.post("/api/v1/identity/unbind", json=mine, headers=actions_headers)
    assert again.status_code == 404 and again.json()["code"] == "binding_not_found"
