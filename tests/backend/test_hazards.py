"""Hazards that match no customer (a passer-by's WeChat location, a street): placed in a grid cell,
dispatched at once at top priority, the cell's supervisor alerted; never left unseen."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.main import create_app
from backend.topology.models import Worker
from tests.backend.conftest import County, Grid, pushes


def hazard(client: TestClient, headers: dict[str, str], key: str, **body: object) -> dict:
    payload = {
        "kind": "hazard",
        "channel": "wechat",
        "sender_id": "o_passer_by_0001",
        "description": "电线断了掉在路上",
    }
    r = client.post("/api/v1/repair-reports", json=payload | body, headers=headers | {"Idempotency-Key": key})
    assert r.status_code == 200, r.text
    answer: dict = r.json()
    return answer


def supervisor_id(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        found: int = session.execute(select(Worker.id).where(Worker.code == "S1")).scalar_one()
        return found


def test_a_passer_by_s_location_places_the_hazard_in_the_nearest_transformer_s_cell(
    client: TestClient,
    grid: Grid,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    """A WeChat location 300 m from T92 (cell C1): dispatched at once, urgent, to C1's worker, whom the
    answer names; the supervisor of C1 is alerted by WeCom; the reporter hears of the dispatch in the
    chat's reply (the answer), not again by push."""
    answer = hazard(client, actions_headers, "loc", latitude=29.0577, longitude=114.3100)
    assert (answer["outcome"], answer["status"], answer["priority"]) == ("ticket_created", "dispatched", "urgent")
    assert answer["worker"] == {"name": "网格员W1", "phone": "13900000000"} and answer["deadline"]
    [alert] = pushes(session_factory, template="worker_hazard_alert")
    assert alert.worker_id == supervisor_id(session_factory) and alert.urgent
    assert alert.params["ticket_no"] == answer["ticket_no"] and alert.params["worker_name"] == "网格员W1"
    assert not pushes(session_factory, template="ticket_dispatched")  # the answer is told in the chat
    ticket = client.get(f"/api/v1/tickets/{answer['ticket_no']}", headers=admin_headers).json()
    assert ticket["account_no"] is None and ticket["kind"] == "hazard"


def test_a_street_that_matches_no_customer_s_address_is_placed_by_the_street(
    client: TestClient, grid: Grid, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    answer = hazard(client, actions_headers, "street", address="城关镇幸福路与人民路交叉口")
    assert (answer["status"], answer["worker"]["name"]) == ("dispatched", "网格员W1")
    assert len(pushes(session_factory, template="worker_hazard_alert")) == 1


def test_a_hazard_nobody_can_place_alerts_the_duty_dispatchers(
    settings: Settings, grid: Grid, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    """Far from every transformer, at an address no customer shares: the dispatch centre's queue, and
    each duty dispatcher is alerted at once by WeCom (not left unseen while the bot says it is being
    arranged)."""
    with TestClient(create_app(settings.model_copy(update={"duty_dispatcher_wecom_ids": ["dd_zhang"]}))) as client:
        answer = hazard(client, actions_headers, "far", latitude=30.5, longitude=115.9, address="某某桥头")
    assert (answer["status"], answer["worker"]) == ("received", None)
    [alert] = pushes(session_factory, template="dispatch_hazard_unplaced")
    assert alert.wecom_user_id == "dd_zhang" and alert.params["address"] == "某某桥头"


def test_a_customer_s_hazard_alerts_the_supervisor_too(
    client: TestClient, county: County, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    answer = hazard(client, actions_headers, "own", account_no=county.a1, sender_id=county.a1_openid)
    assert answer["priority"] == "urgent"
    [alert] = pushes(session_factory, template="worker_hazard_alert")
    assert alert.params["address"] == "青山县城关镇人民路1号"
