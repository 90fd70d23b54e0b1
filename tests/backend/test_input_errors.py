"""Input a database could not store is refused as 422 with its location, never a 500."""

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
