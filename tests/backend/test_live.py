"""The live view's JSON (`GET /api/v1/live/overview`): open tickets by status and cell, outages with
the customers they cover, deadlines about to break and broken, workers' load, the storm indicator and
the dead letters, and the grid by outage state, all from what the database holds; refused without the
admin token or a dispatcher's, supervisor's or admin's console session."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from time import sleep
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.live.service import Overview
from backend.notifications.models import OutboxMessage
from backend.outages import service as outages
from backend.outages.models import Outage
from backend.outages.schemas import OutageCreate
from tests.backend.conftest import County
from tests.backend.test_reports import local
from tests.backend.test_standards import ControlledClock, open_ticket


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> ControlledClock:
    controlled = ControlledClock(local("2026-11-03T10:00:00"))
    monkeypatch.setattr(clock, "now", controlled)
    return controlled


def outage(factory: sessionmaker[Session], now: datetime, **scope: list[str]) -> None:
    with factory() as session, session.begin():
        data = OutageCreate(
            kind="fault", cause="线路故障", starts_at=now, estimated_restore_at=now + timedelta(hours=2), **scope
        )
        outages.create_outage(session, data)


def test_the_overview_shows_what_the_dispatchers_need_now(
    client: TestClient,
    admin_headers: dict[str, str],
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    settings: Settings,
    county: County,
    frozen: ControlledClock,
) -> None:
    """At 10:50: A2's rural ticket of 10:00 is 40 min from its deadline (not yet listed as due), A1's
    urban one of 10:00 broke its 10:45 deadline, A3's remote one of 10:40 is due at 12:40; a feeder
    fault on F1 covers A1, A2 and A4; one push is dead."""
    late = open_ticket(session_factory, settings, county.a1)  # urban: due 10:45
    open_ticket(session_factory, settings, county.a2)  # rural: due 11:30
    frozen.at("2026-11-03T10:40:00")
    open_ticket(session_factory, settings, county.a3)  # remote: due 12:40
    now = frozen.at("2026-11-03T10:50:00")
    outage(session_factory, now, feeder_codes=["F1"])
    with session_factory() as session, session.begin():
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id == 1).values(status="dead", last_error="sms: 拒收")
        )

    assert client.get("/api/v1/live/overview").status_code == 401
    assert client.get("/api/v1/live/overview", headers=actions_headers).status_code == 403
    answer = client.get("/api/v1/live/overview", headers=admin_headers)
    assert answer.status_code == 200
    live = answer.json()
    assert live["tickets"]["open"] == 3 and live["tickets"]["by_status"]["dispatched"] == 3
    assert live["outages"][0]["feeders"] == ["F1线"] and live["outages"][0]["transformers"] == []
    cells = {cell["code"]: cell["open"] for cell in live["tickets"]["by_grid_cell"]}
    assert cells == {"C1": 2, "C2": 1}
    assert [(o["kind"], o["status"], o["customers"]) for o in live["outages"]] == [("fault", "active", 3)]
    deadlines = live["deadlines"]
    assert [(d["ticket_no"], d["minutes_left"]) for d in deadlines["broken"]] == [(late, -5.0)]
    assert deadlines["broken_count"] == 1 and deadlines["due_soon_count"] == 0
    assert deadlines["broken"][0]["worker"]["code"] == "W1"
    workers = {w["code"]: w for w in live["workers"]}
    assert (workers["W1"]["open_tasks"], workers["W1"]["capacity"], workers["W1"]["load_pct"]) == (2, 2, 100.0)
    assert workers["W3"]["open_tasks"] == 1 and workers["W3"]["grid_cell_name"] == "城关二网格"
    (dead,) = live["dead_letters"]["latest"]
    assert live["dead_letters"]["count"] == 1 and dead["last_error"] == "sms: 拒收"
    assert dead["reason"] == "多次重试仍未发出（短信平台暂时无法发送）"
    assert live["storm"]["reports_last_minute"] == 0 and live["storm"]["storm"] is False

    frozen.at("2026-11-03T11:05:00")  # A2's deadline at 11:30 is now within half an hour
    soon = Overview(session_factory).get()["deadlines"]
    assert [(d["standard"], d["minutes_left"]) for d in soon["due_soon"]] == [("arrival", 25.0)]


def test_a_burst_of_reports_against_a_quiet_week_is_a_storm(
    session_factory: sessionmaker[Session], settings: Settings, county: County, frozen: ControlledClock
) -> None:
    """One report in the week before, then twelve in the last minute: the indicator says storm, with
    the ratio of the last minute to the week's usual rate per minute (13 reports / 10,080 minutes)."""
    frozen.at("2026-10-29T09:00:00")
    open_ticket(session_factory, settings, county.a3)
    frozen.at("2026-11-03T09:59:30")
    for n in range(12):
        open_ticket(session_factory, settings, (county.a1, county.a2, county.a3)[n % 3])
    frozen.at("2026-11-03T10:00:00")
    storm = Overview(session_factory).get()["storm"]
    assert storm["reports_last_minute"] == 12 and storm["storm"] is True
    assert storm["usual_per_minute"] == round(13 / 10_080, 3) and storm["ratio"] == round(12 / (13 / 10_080), 1)
    frozen.at("2026-11-03T10:05:00")
    assert Overview(session_factory).get()["storm"]["storm"] is False


def test_the_grid_shows_each_transformer_in_the_worst_state_of_the_outages_on_it(
    session_factory: sessionmaker[Session], county: County, frozen: ControlledClock
) -> None:
    """F1's outage puts T1 and T2 in outage (T2's own suspected fault is milder); T3's suspected fault
    makes it suspected; once restored, F1 and its transformers show restored for two hours, then
    normal; a cancelled or dismissed outage shows nothing."""
    now = frozen.at("2026-11-03T10:00:00")
    outage(session_factory, now, feeder_codes=["F1"])
    outage(session_factory, now, transformer_codes=["T2"])
    outage(session_factory, now, transformer_codes=["T3"])
    outage(session_factory, now, transformer_codes=["T3"])
    with session_factory() as session, session.begin():
        session.execute(update(Outage).where(Outage.id.in_((2, 3))).values(status="suspected", source="reports"))
        session.execute(update(Outage).where(Outage.id == 4).values(status="dismissed"))

    def states() -> dict[str, str]:
        with session_factory() as session:
            grid = Overview().build(session, clock.now())["grid"]
        return {f["code"]: f["state"] for f in grid} | {t["code"]: t["state"] for f in grid for t in f["transformers"]}

    assert states() == {"F1": "outage", "T1": "outage", "T2": "outage", "F2": "normal", "T3": "suspected"}
    with session_factory() as session, session.begin():
        session.execute(update(Outage).where(Outage.id.in_((1, 2))).values(status="restored", restored_at=now))
        session.execute(update(Outage).where(Outage.id == 3).values(status="cancelled"))
    frozen.at("2026-11-03T11:59:00")
    assert states() == {"F1": "restored", "T1": "restored", "T2": "restored", "F2": "normal", "T3": "normal"}
    frozen.at("2026-11-03T12:01:00")
    assert set(states().values()) == {"normal"}


def test_a_dispatcher_signed_in_to_the_console_reads_the_overview_and_an_agent_may_not(
    client: TestClient, admin_headers: dict[str, str], county: County
) -> None:
    for username, role, status in (("agent09", "agent", 403), ("dispatcher09", "dispatcher", 200)):
        person = {"username": username, "name": "测试", "role": role, "password": "password-of-the-test"}
        client.post("/api/v1/staff", json=person, headers=admin_headers).raise_for_status()
        client.post("/api/v1/staff/sessions", json=person).raise_for_status()
        answer = client.get("/api/v1/live/overview")
        assert answer.status_code == status, answer.text
    assert [f["code"] for f in answer.json()["grid"]] == ["F1", "F2"]


def test_the_customers_covered_are_counted_for_all_outages_at_once_as_one_by_one(
    session_factory: sessionmaker[Session], county: County, frozen: ControlledClock
) -> None:
    """Overlapping scopes count each customer once: F1 (A1, A2, A4) with T3 (A3) and A1 again is 4."""
    now = frozen.at("2026-11-03T10:00:00")
    outage(session_factory, now, feeder_codes=["F1"], transformer_codes=["T3"], account_nos=[county.a1])
    outage(session_factory, now, transformer_codes=["T2"])
    with session_factory() as session:
        counts = outages.covered_counts(session, [1, 2, 3])
        assert counts == {1: 4, 2: 1, 3: 0}
        assert counts == {n: outages.covered_count(session, n) for n in (1, 2, 3)}
        assert outages.covered_counts(session, []) == {}


def test_consoles_asking_at_once_wait_for_one_computation(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight streams polling together compute the overview once; the version moves only then."""
    overview = Overview(session_factory)
    built: list[int] = []

    def build(session: Session, now: datetime) -> dict[str, Any]:
        built.append(1)
        sleep(0.2)
        return {"at": now.isoformat()}

    monkeypatch.setattr(overview, "build", build)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: overview.get(), range(8)))
    assert len(built) == 1 and overview.version == 1 and all(a is answers[0] for a in answers)
