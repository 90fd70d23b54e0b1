"""Applications, bills, grid workers and hand-offs through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.applications import service as applications
from backend.applications.models import Application
from backend.billing.service import due_date_of, shift_period
from backend.billing.tariff import Tariff, price
from backend.core.config import Settings
from backend.notifications.models import OutboxMessage
from tests.backend.conftest import County, shop_application, speaking_for


def test_application_stages_time_limit_and_pushes(
    client: TestClient,
    county: County,
    admin_headers: dict[str, str],
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    created = client.post("/api/v1/applications", json=shop_application(county), headers=admin_headers)
    assert created.status_code == 201, created.text
    number = created.json()["application_no"]
    assert number.startswith("YK") and created.json()["stage"] == "accepted"
    assert created.json()["time_limit_days"] == 6 and created.json()["state"] == "on_time"
    for _ in range(5):  # a low-voltage application skips design review and the mid-construction check
        moved = client.post(f"/api/v1/applications/{number}/advance", headers=admin_headers)
        assert moved.status_code == 200
    final = moved.json()
    assert final["stage"] == "connected" and final["completed_at"] is not None
    assert [s["label"] for s in final["stages"]] == ["受理", "现场勘查", "供电方案答复", "竣工检验", "装表接电"]
    assert [s["time_limit_days"] for s in final["stages"]] == [1, 1, 2, 1, 1]
    assert all(s["left_at"] for s in final["stages"])
    assert client.post(f"/api/v1/applications/{number}/advance", headers=admin_headers).status_code == 409
    owner = speaking_for(f"sms:{county.a1_phone}")  # A4's registered phone, writing by SMS
    read = client.get(f"/api/v1/applications/{number}", headers=owner).json()
    assert read["manager"] == {"name": "周敏", "phone": "13700001111"}
    listed = client.get("/api/v1/applications", params={"account_no": county.a4}, headers=owner).json()
    assert [a["application_no"] for a in listed] == [number]
    with session_factory() as session:
        keys = set(
            session.scalars(
                select(OutboxMessage.dedup_key).where(OutboxMessage.template == "application_stage_changed")
            )
        )
    assert f"application:{number}:survey" in keys and f"application:{number}:completed" in keys
    assert len(keys) == 6
    assert client.get("/api/v1/applications/YK202001010001", headers=owner).status_code == 404


def test_application_verdicts(settings: Settings) -> None:
    limits = applications.Limits.of(settings)
    monday = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    app = Application(type="residential", submitted_at=monday, completed_at=None)
    deadline, _, state = applications.verdict(app, monday + timedelta(days=1), limits)
    assert state == "on_time" and deadline.date().isoformat() == "2026-11-09"  # 5 working days
    assert applications.verdict(app, monday + timedelta(days=4), limits)[2] == "at_risk"  # Friday: 4 of 5 days used
    assert applications.verdict(app, monday + timedelta(days=8), limits)[2] == "late"
    app.completed_at = monday + timedelta(days=3)
    assert applications.verdict(app, monday + timedelta(days=30), limits)[2] == "on_time"


def test_tiered_prices() -> None:
    tariff = Tariff()
    tiers, amount = price(tariff, kwh=500, customer_type="resident")
    assert [t["kwh"] for t in tiers] == [230, 170, 100]
    assert str(amount) == str(round(230 * 0.5283 + 170 * 0.5783 + 100 * 0.8283, 2))
    _, with_tou = price(tariff, kwh=500, customer_type="resident", peak_kwh=200, valley_kwh=300)
    assert with_tou == amount + tariff.peak_surcharge * 200 - tariff.valley_discount * 300
    tiers, _ = price(tariff, kwh=500, customer_type="business")
    assert [t["kwh"] for t in tiers] == [500]
    assert due_date_of("2026-12").isoformat() == "2027-01-25"
    assert shift_period("2026-01", -1) == "2025-12" and shift_period("2026-10", -12) == "2025-10"


def test_bills_and_comparison(
    client: TestClient,
    county: County,
    admin_headers: dict[str, str],
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    def issue(account: str, period: str, kwh: int) -> None:
        r = client.post(
            "/api/v1/bills", json={"account_no": account, "period": period, "kwh": kwh}, headers=admin_headers
        )
        assert r.status_code == 201, r.text

    issue(county.a1, "2025-10", 150)
    issue(county.a1, "2026-09", 180)
    issue(county.a1, "2026-10", 300)
    issue(county.a2, "2026-10", 100)  # same cell C1, resident
    issue(county.a4, "2026-10", 5000)  # same cell, but a business: not a similar household
    r = client.post(
        "/api/v1/bills", json={"account_no": county.a1, "period": "2026-10", "kwh": 1}, headers=admin_headers
    )
    assert r.status_code == 409
    owner = speaking_for(f"wechat:{county.a1_openid}")
    bills = client.get("/api/v1/bills", params={"account_no": county.a1}, headers=owner).json()
    assert [b["period"] for b in bills] == ["2026-10", "2026-09", "2025-10"]
    assert [t["kwh"] for t in bills[0]["tiers"]] == [230, 70, 0]
    assert bills[2]["arrears"] == bills[2]["amount"]  # unpaid and long past due
    comparison = client.get("/api/v1/bills/comparison", params={"account_no": county.a1}, headers=owner)
    assert comparison.json() == {
        "period": "2026-10",
        "kwh": 300,
        "cell_median_kwh": 200.0,
        "ratio": 1.5,
        "previous_kwh": 180,
        "same_month_last_year_kwh": 150,
        "similar_households": 2,
    }
    assert (
        client.get("/api/v1/bills/comparison", params={"account_no": county.a3}, headers=admin_headers).status_code
        == 404
    )
    with session_factory() as session:
        assert session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedup_key == f"bill:{county.a1}:2026-10:issued")
        )


def test_grid_workers(client: TestClient, county: County, actions_headers: dict[str, str]) -> None:
    body = client.get("/api/v1/grid-workers", params={"account_no": county.a2}, headers=actions_headers).json()
    assert body == {
        "grid_cell": {"code": "C1", "name": "城关一网格"},
        "worker": {"name": "网格员W1", "phone": "13900000000"},
        "backup": {"name": "网格员W3", "phone": "13900000002"},
    }
    assert client.get("/api/v1/grid-workers", params={"account_no": "123"}, headers=actions_headers).status_code == 422
