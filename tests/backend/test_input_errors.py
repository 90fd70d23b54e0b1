"""Input a database could not store is refused as 422 with its location, never a 500; unreadable
input is a 400; and the OpenAPI documents these error answers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.backend.conftest import County

NUL = "a\x00b"


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        ("post", "/api/v1/feeders", {"code": "F7", "name": NUL}, None),
        (
            "post",
            "/api/v1/outages",
            {
                "kind": "fault",
                "cause": NUL,
                "starts_at": "2026-11-22T08:00:00+08:00",
                "estimated_restore_at": "2026-11-22T10:00:00+08:00",
                "feeder_codes": ["F1"],
            },
            None,
        ),
        (
            "post",
            "/api/v1/outages",
            {
                "kind": "fault",
                "cause": "x",
                "starts_at": "0001-01-01T00:00:00+00:00",
                "estimated_restore_at": "2026-11-22T10:00:00+08:00",
                "feeder_codes": ["F1"],
            },
            None,
        ),
        (
            "post",
            "/api/v1/outages",
            {
                "kind": "fault",
                "cause": "x",
                "starts_at": "2026-11-22T08:00:00+08:00",
                "estimated_restore_at": "2026-11-22T10:00:00+08:00",
                "feeder_codes": [NUL],
            },
            None,
        ),
        ("get", "/api/v1/identity", None, {"wechat_openid": NUL}),
        ("get", "/api/v1/handoffs", None, {"sender_id": NUL}),
        ("get", "/api/v1/workers", None, {"grid_cell_code": NUL}),
        ("get", "/api/v1/customers/abc", None, None),
        (
            "post",
            "/api/v1/notifications",
            {"recipient": {"phone": "13800000001"}, "template": "ticket_dispatched", "dedup_key": NUL},
            None,
        ),
        (
            "post",
            "/api/v1/notifications",
            {"recipient": {"wechat_openid": NUL}, "template": "ticket_dispatched", "dedup_key": "k1"},
            None,
        ),
        ("put", "/api/v1/notifications/wechat-followers/o%00x", {"following": False}, None),
    ],
)
def test_unstorable_input_is_422(
    client: TestClient,
    county: County,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    body: dict | None,
    params: dict | None,
) -> None:
    r = client.request(method, path, json=body, params=params, headers=admin_headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error" and r.json()["errors"]


def test_ticket_events_with_nul_are_refused(client: TestClient, county: County, actions_headers: dict) -> None:
    r = client.post(
        "/api/v1/repair-reports",
        json={"account_no": county.a1, "channel": "wechat", "sender_id": NUL, "description": "停电"},
        headers=actions_headers | {"Idempotency-Key": "nul"},
    )
    assert r.status_code == 422


def test_a_body_that_is_not_text_is_400(client: TestClient, admin_headers: dict[str, str]) -> None:
    r = client.post("/api/v1/feeders", content=b"\xe9<", headers=admin_headers | {"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"code": "bad_request", "message": "There was an error parsing the body"}


def test_the_openapi_documents_the_error_answers(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403", "422"} <= responses.keys(), (method, path)
            schema = responses["422"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ValidationErrorRead"}, (method, path)
    assert {"400", "404", "409"} <= paths["/api/v1/bills"]["post"]["responses"].keys()
    assert {"404", "409"} <= paths["/api/v1/tickets/{ticket_no}/events"]["post"]["responses"].keys()
