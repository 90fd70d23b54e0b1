"""The demo county: demo identities, 12 months of bills, applications in every stage, two outages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend import seed
from backend.applications.models import Application
from backend.applications.stages import STAGES
from backend.billing.models import Bill
from backend.customers.models import Customer
from backend.topology.models import GridCell, Transformer, Worker
from backend.topology.service import distance_km


@pytest.fixture
def seeded(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with session_factory() as session, session.begin():
        seed.seed(session, 400)
    return session_factory


def test_seed_builds_the_demo_county(
    seeded: sessionmaker[Session],
    client: TestClient,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    with seeded() as session:
        assert session.scalar(select(func.count(Customer.id))) == 400
        assert session.scalar(select(func.count(Bill.id))) == 400 * 12
        assert set(session.scalars(select(Application.stage))) == set(STAGES)
        assert session.scalar(select(func.count(Application.id)).where(Application.completed_at.is_not(None))) > 0

    who = client.get("/api/v1/identity", params={"wechat_openid": "o_demo_resident_01"}, headers=actions_headers)
    assert who.json()["customers"][0]["account_no"] == "3100000001"
    worker = client.get("/api/v1/identity", params={"wecom_user_id": "wg_demo_worker_01"}, headers=actions_headers)
    assert worker.json()["worker"]["name"] == "赵磊"

    in_fault = client.get("/api/v1/outages", params={"account_no": "3100000002"}, headers=actions_headers).json()
    assert [o["kind"] for o in in_fault] == ["fault"]
    planned = client.get("/api/v1/outages", params={"account_no": "3100000003"}, headers=actions_headers).json()
    assert [(o["kind"], o["status"]) for o in planned] == [("planned", "announced")]
    report = client.post(
        "/api/v1/repair-reports",
        json={"channel": "wechat", "sender_id": "o_demo_resident_01", "description": "家里突然停电了"},
        headers=actions_headers | {"Idempotency-Key": "demo-1"},
    ).json()
    assert report["outcome"] == "ticket_created" and report["worker"]["name"] == "赵磊"

    zhang_wei = actions_headers | {"X-PowerDesk-Sender": "wechat:o_demo_resident_01"}
    bills = client.get("/api/v1/bills", params={"account_no": "3100000001"}, headers=zhang_wei).json()
    assert len(bills) == 12 and bills[0]["peak_kwh"] is not None
    comparison = client.get("/api/v1/bills/comparison", params={"account_no": "3100000001"}, headers=zhang_wei)
    assert comparison.json()["similar_households"] > 10
    shop = actions_headers | {"X-PowerDesk-Sender": "wechat:o_demo_business_01"}
    apps = client.get("/api/v1/applications", params={"account_no": "3100000004"}, headers=shop).json()
    assert apps and apps[0]["manager"]["name"]
    # Ids continue after the explicit ones the seed inserted.
    new = {"code": "F999", "name": "新线"}
    assert client.post("/api/v1/feeders", json=new, headers=admin_headers).status_code == 201


def test_every_transformer_and_cell_of_the_county_has_a_place_and_a_hazard_there_finds_its_cell(
    seeded: sessionmaker[Session], client: TestClient, actions_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    """Transformers stand within a kilometre of their cell's centre, all inside the county; a
    passer-by's hazard at a transformer's spot is dispatched to that transformer's cell."""
    with seeded() as session:
        cells = {c.id: c for c in session.scalars(select(GridCell))}
        transformers = list(session.scalars(select(Transformer)))
    assert cells and all(c.latitude is not None and c.longitude is not None for c in cells.values())
    for t in transformers:
        cell = cells[t.grid_cell_id]
        assert 28.9 < t.latitude < 29.4 and 114.2 < t.longitude < 114.7  # type: ignore[operator]
        assert distance_km(t.latitude, t.longitude, cell.latitude, cell.longitude) < 1.0  # type: ignore[arg-type]
    spot = transformers[7]
    body = {"kind": "hazard", "channel": "wechat", "sender_id": "o_passer_by_0007", "description": "路边电线杆倒了",
            "latitude": spot.latitude, "longitude": spot.longitude}  # fmt: skip
    answer = client.post(
        "/api/v1/repair-reports", json=body, headers=actions_headers | {"Idempotency-Key": "h7"}
    ).json()
    ticket = client.get(f"/api/v1/tickets/{answer['ticket_no']}", headers=admin_headers).json()
    with seeded() as session:
        worker_cell = session.scalar(select(Worker.grid_cell_id).where(Worker.code == ticket["worker"]["code"]))
    assert answer["status"] == "dispatched" and worker_cell == spot.grid_cell_id


def test_seed_command_refuses_a_full_database_unless_if_empty(
    seeded: sessionmaker[Session], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert seed.main(["--customers", "10", "--if-empty"]) == 0
    assert seed.main(["--customers", "10"]) == 1
    with seeded() as session:
        assert session.scalar(select(func.count(Customer.id))) == 400
