"""Who is talking: WeChat openid, WeCom user id, phone; and binding an openid to an account."""

from __future__ import annotations

from fastapi.testclient import TestClient

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


def test_bind_checks_the_last_four_digits(client: TestClient, county: County, actions_headers: dict[str, str]) -> None:
    wrong = {"wechat_openid": "o_new", "account_no": county.a2, "phone_last4": "9999"}
    r = client.post("/api/v1/identity/bind", json=wrong, headers=actions_headers)
    assert r.status_code == 403 and r.json()["code"] == "bind_check_failed"
    unbound = client.get("/api/v1/identity", params={"wechat_openid": "o_new"}, headers=actions_headers).json()
    assert unbound["kind"] == "unknown"

    right = wrong | {"phone_last4": "0002"}
    for _ in range(2):  # binding twice is harmless
        r = client.post("/api/v1/identity/bind", json=right, headers=actions_headers)
        assert r.status_code == 200 and r.json()["account_no"] == county.a2
    bound = client.get("/api/v1/identity", params={"wechat_openid": "o_new"}, headers=actions_headers).json()
    assert [c["account_no"] for c in bound["customers"]] == [county.a2]
