"""Topology and customer registration through the API: round trips and the error contract."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.backend.conftest import County, speaking_for


def test_register_a_county_and_read_it_back(client: TestClient, admin_headers: dict[str, str]) -> None:
    api = "/api/v1"
    assert (
        client.post(f"{api}/feeders", json={"code": "F9", "name": "青山9号线"}, headers=admin_headers).status_code
        == 201
    )
    assert (
        client.post(f"{api}/grid-cells", json={"code": "G9", "name": "九号网格"}, headers=admin_headers).status_code
        == 201
    )
    r = client.post(
        f"{api}/grid-cells",
        json={
            "code": "G8",
            "name": "八号网格",
            "neighbour_code": "G9",
            "county": "青山县",
            "latitude": 29.06,
            "longitude": 114.31,
        },
        headers=admin_headers,
    )
    assert r.json() == {
        "code": "G8",
        "name": "八号网格",
        "neighbour_code": "G9",
        "county": "青山县",
        "latitude": 29.06,
        "longitude": 114.31,
    }
    r = client.post(
        f"{api}/transformers",
        json={"code": "T9", "name": "九号台区", "feeder_code": "F9", "grid_cell_code": "G9"},
        headers=admin_headers,
    )
    assert r.status_code == 201 and (r.json()["latitude"], r.json()["longitude"]) == (None, None)
    worker = {
        "code": "W9",
        "name": "李强",
        "phone": "13912345678",
        "grid_cell_code": "G9",
        "wecom_user_id": "liqiang",
    }
    assert client.post(f"{api}/workers", json=worker, headers=admin_headers).status_code == 201
    customer = {
        "account_no": "3100009999",
        "name": "王芳",
        "phone": "13812345678",
        "address": "青山县九号路1号",
        "customer_type": "resident",
        "area_type": "urban",
        "transformer_code": "T9",
        "wechat_openid": "o_wangfang",
    }
    r = client.post(f"{api}/customers", json=customer, headers=admin_headers)
    assert r.status_code == 201
    assert r.json()["grid_cell_code"] == "G9" and r.json()["feeder_code"] == "F9"

    assert [f["code"] for f in client.get(f"{api}/feeders", headers=admin_headers).json()] == ["F9"]
    assert client.get(f"{api}/transformers", headers=admin_headers).json()[0]["grid_cell_code"] == "G9"
    assert client.get(f"{api}/workers", headers=admin_headers).json()[0]["wecom_user_id"] == "liqiang"
    full = client.get(f"{api}/customers/3100009999", headers=admin_headers).json()
    assert full["phone"] == "13812345678" and full["wechat_openids"] == ["o_wangfang"]


def test_the_assistant_sees_customers_with_masked_phones(
    client: TestClient, county: County, actions_headers: dict[str, str]
) -> None:
    """For the owner it speaks for, with the phone masked; for anyone else, nothing."""
    stranger = client.get(f"/api/v1/customers/{county.a1}", headers=speaking_for("wechat:o_stranger"))
    assert stranger.status_code == 403 and stranger.json()["code"] == "verification_required"
    body = client.get(f"/api/v1/customers/{county.a1}", headers=speaking_for(f"wechat:{county.a1_openid}")).json()
    assert body["phone"] is None
    assert body["phone_masked"] == "138****0001"
    assert body["wechat_openids"] == []


def test_tokens_and_roles(client: TestClient, actions_headers: dict[str, str], worker_headers: dict[str, str]) -> None:
    feeder = {"code": "F1", "name": "一号线"}
    r = client.post("/api/v1/feeders", json=feeder)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = client.post("/api/v1/feeders", json=feeder, headers={"Authorization": "Bearer not-the-token-at-all"})
    assert r.status_code == 401
    r = client.post("/api/v1/feeders", json=feeder, headers=actions_headers)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.get("/api/v1/customers", headers=worker_headers).status_code == 403
    assert client.get("/api/v1/feeders", headers=worker_headers).status_code == 200


def test_duplicates_unknowns_and_malformed_input(
    client: TestClient, county: County, admin_headers: dict[str, str]
) -> None:
    r = client.post("/api/v1/feeders", json={"code": "F1", "name": "重复"}, headers=admin_headers)
    assert r.status_code == 409 and r.json()["code"] == "duplicate"
    r = client.post(
        "/api/v1/transformers",
        json={"code": "T8", "name": "x", "feeder_code": "NOPE", "grid_cell_code": "C1"},
        headers=admin_headers,
    )
    assert r.status_code == 404 and r.json()["code"] == "feeder_not_found"
    r = client.post("/api/v1/customers", json={"account_no": "12ab", "name": "x"}, headers=admin_headers)
    assert r.status_code == 422
    locations = [tuple(e["loc"]) for e in r.json()["errors"]]
    assert ("body", "account_no") in locations and ("body", "phone") in locations
    assert client.get("/api/v1/customers/9999999999", headers=admin_headers).status_code == 404
    dup = {
        "account_no": county.a1,
        "name": "重复",
        "phone": "13800000009",
        "address": "某地1号",
        "customer_type": "resident",
        "area_type": "urban",
        "transformer_code": "T1",
    }
    assert client.post("/api/v1/customers", json=dup, headers=admin_headers).status_code == 409


@pytest.mark.parametrize("path", ["/api/v1/transformers", "/api/v1/customers"])
def test_an_offset_no_database_can_bind_is_422(client: TestClient, admin_headers: dict[str, str], path: str) -> None:
    r = client.get(path, params={"offset": 2**63}, headers=admin_headers)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["query", "offset"]]
