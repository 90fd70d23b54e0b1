"""The command centre's reports against a month built ticket by ticket (October 2026), each figure
worked out by hand below; the workbooks in Chinese with the rankings; bad periods refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.applications import service as applications
from backend.applications.schemas import ApplicationCreate
from backend.core import clock
from backend.core.config import Settings
from backend.customers import service as customers
from backend.handoffs.models import Handoff
from backend.notifications.models import OutboxMessage
from backend.outages import service as outages
from backend.outages.schemas import OutageCreate, OutageUpdate
from backend.tickets import deadlines, service
from backend.topology.models import GridCell
from tests.backend.conftest import County
from tests.backend.test_standards import ControlledClock, run


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=clock.LOCAL_ZONE)


class Month:
    """October 2026 in the test county, written through the services at the moments given."""

    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, county: County, now: ControlledClock
    ) -> None:
        self.factory, self.settings, self.county, self.now = factory, settings, county, now

    def at(self, moment: str) -> Session:
        self.now.at(moment)
        return self.factory()

    def ticket(self, moment: str, account: str, kind: str, channel: str, sender: str, text: str) -> str:
        with self.at(moment) as session, session.begin():
            return service.open_ticket(
                session, self.settings, kind=kind, customer=customers.get_customer(session, account),
                channel=channel, sender_id=sender, description=text, actor="assistant",
            ).ticket_no  # fmt: skip

    def event(self, moment: str, number: str, event: str, worker: str | None = None) -> None:
        with self.at(moment) as session, session.begin():
            code = worker or service.get_ticket(session, number).worker.code  # type: ignore[union-attr]
            service.apply_event(session, self.settings, number, event=event, actor="worker", worker_code=code)

    def rate(self, moment: str, number: str, score: int) -> None:
        with self.at(moment) as session, session.begin():
            service.rate(session, number, score=score, comment=None, actor="assistant")

    def outage(self, moment: str, until: str, **scope: list[str]) -> None:
        with self.at(moment) as session, session.begin():
            data = OutageCreate(kind="fault", cause="线路故障", starts_at=local(moment),
                                estimated_restore_at=local(until), **scope)  # fmt: skip
            outage_id = outages.create_outage(session, data).id
        with self.at(until) as session, session.begin():
            outages.update_outage(session, outage_id, OutageUpdate(status="restored"))


@pytest.fixture
def october(
    session_factory: sessionmaker[Session], settings: Settings, county: County, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    controlled = ControlledClock(local("2026-09-01T08:00:00"))
    monkeypatch.setattr(clock, "now", controlled)
    month = Month(session_factory, settings, county, controlled)
    with session_factory() as session, session.begin():
        session.execute(update(GridCell).where(GridCell.code == "C1").values(county="青山县"))
        session.execute(update(GridCell).where(GridCell.code == "C2").values(county="云岭县"))
    # Outages: T1 twice (September and October), F2 (T3) once; a cancelled one is no outage.
    month.outage("2026-09-10T12:00:00", "2026-09-10T15:00:00", transformer_codes=["T1"])
    month.outage("2026-10-08T12:00:00", "2026-10-08T14:00:00", transformer_codes=["T1"])
    month.outage("2026-10-15T12:00:00", "2026-10-15T18:00:00", feeder_codes=["F2"])
    with month.at("2026-10-16T09:00:00") as session, session.begin():
        planned = outages.create_outage(session, OutageCreate(
            kind="planned", cause="检修", starts_at=local("2026-10-30T08:00:00"),
            estimated_restore_at=local("2026-10-30T12:00:00"), feeder_codes=["F2"],
        ))  # fmt: skip
        outages.update_outage(session, planned.id, OutageUpdate(status="cancelled"))
    # A3's September ticket: outside the month, inside the two months of 频繁停电.
    september = month.ticket("2026-09-25T09:00:00", county.a3, "repair", "wechat", "o_a3", "停电")
    month.event("2026-09-25T09:10:00", september, "cancel")

    t1 = month.ticket("2026-10-05T10:00:00", county.a1, "repair", "wechat", "o_a1", "家里停电了")  # urban, W1
    month.event("2026-10-05T10:05:00", t1, "accept")
    month.event("2026-10-05T10:30:00", t1, "arrive")  # 30 min: on time (45)
    month.event("2026-10-05T12:30:00", t1, "resolve")  # 120 min: on time (3 h)
    month.rate("2026-10-05T13:00:00", t1, 5)
    t2 = month.ticket("2026-10-12T09:00:00", county.a2, "repair", "sms", "13800000002", "村里停电")  # rural, W1
    run(session_factory, settings, deadlines.check_arrival, local("2026-10-12T10:30:00"))  # breach: C1, W1
    month.event("2026-10-12T10:40:00", t2, "accept")
    month.event("2026-10-12T11:00:00", t2, "arrive")  # 120 min: late (90)
    month.event("2026-10-12T16:30:00", t2, "resolve")  # 330 min: late (4 h)
    month.rate("2026-10-12T17:00:00", t2, 2)
    t3 = month.ticket("2026-10-20T08:00:00", county.a3, "repair", "wechat", "o_a3", "又停电了")  # remote, W3
    run(session_factory, settings, deadlines.check_arrival, local("2026-10-20T10:00:00"))  # breach: C2, W3
    month.ticket("2026-10-21T09:00:00", county.a1, "complaint", "wechat", "o_a1", "抢修人员迟到，态度不好")
    month.ticket("2026-10-22T09:00:00", county.a3, "complaint", "wechat", "o_a3", "停电太频繁，电压不稳")
    month.ticket("2026-11-01T09:00:00", county.a1, "repair", "wechat", "o_a1", "停电")  # next month
    # 业扩: a high-voltage application accepted on Friday 9 October, moved on Monday 12 (its one
    # working day ended on Saturday 10, an adjusted working day: late), surveyed by Tuesday 13 (on time).
    with month.at("2026-10-09T09:00:00") as session, session.begin():
        number = applications.create_application(session, settings, ApplicationCreate(
            account_no=county.a4, applicant_name="青山县鑫源超市", type="high_voltage_single", capacity_kva=630,
            address="青山县城关镇人民路4号", manager_name="周敏", manager_phone="13700001111",
        )).application_no  # fmt: skip
    with month.at("2026-10-12T09:00:00") as session, session.begin():
        applications.advance(session, settings, number)
    with month.at("2026-10-13T09:00:00") as session, session.begin():
        applications.advance(session, settings, number)
    with month.at("2026-10-08T09:00:00") as session, session.begin():
        moment = clock.now()  # a customer handed to a person (the hand-off service needs an agent on duty)
        session.add(Handoff(channel="wechat", sender_id="o_z", status="waiting", created_at=moment, updated_at=moment))
    month.now.at("2026-11-03T10:00:00")
    return {"t1": t1, "t2": t2, "t3": t3}


def test_the_monthly_report_matches_the_month_worked_out_by_hand(
    client: TestClient,
    admin_headers: dict[str, str],
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    october: dict[str, str],
) -> None:
    """Three repairs (one on time throughout, one late at both, one never reached), two complaints,
    two ratings, two arrival breaches, two repeat-outage customers, one 业扩 stage late and one on
    time, six conversations of which two went to a person."""
    for sender, kind, at in (
        ("o_a1", "resolved", "2026-10-05T13:05:00+08:00"),
        ("o_x", "fallback", "2026-10-06T10:00:00+08:00"),
        ("o_x", "fallback", "2026-10-06T10:01:00+08:00"),
        ("o_y", "handoff", "2026-10-07T10:00:00+08:00"),
    ):
        body = {"sender_id": sender, "channel": "wechat", "kind": kind, "at": at}
        assert client.post("/api/v1/conversation-events", json=body, headers=actions_headers).status_code == 201
    again = client.post("/api/v1/conversation-events", json=body, headers=actions_headers)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    with session_factory() as session, session.begin():  # W1's October pushes delivered, one customer push failed
        month = (OutboxMessage.created_at >= local("2026-10-01T00:00:00")) & (
            OutboxMessage.created_at < local("2026-11-01T00:00:00")
        )
        w1 = session.scalar(
            select(func.min(OutboxMessage.worker_id)).where(month, OutboxMessage.worker_id.is_not(None))
        )
        session.execute(
            update(OutboxMessage).where(month, OutboxMessage.worker_id == w1).values(status="sent", channel="wecom")
        )
        dead = session.scalar(select(func.min(OutboxMessage.id)).where(month, OutboxMessage.customer_id.is_not(None)))
        session.execute(update(OutboxMessage).where(OutboxMessage.id == dead).values(status="dead"))
        sent_wecom = session.scalar(select(func.count()).where(month, OutboxMessage.status == "sent"))
        pending = session.scalar(select(func.count()).where(month, OutboxMessage.status == "pending"))

    answer = client.get("/api/v1/reports/monthly", params={"month": "2026-10"}, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["period"] == {
        "kind": "monthly", "label": "2026-10", "start": "2026-10-01T00:00:00+08:00",
        "end": "2026-11-01T00:00:00+08:00", "complete": True,
    }  # fmt: skip
    overall = report["overall"]
    assert {k: overall[k] for k in (
        "received", "merged", "arrival_measured", "arrival_on_time", "arrival_on_time_pct", "avg_arrival_minutes",
        "restoration_measured", "restoration_on_time", "restoration_on_time_pct", "avg_restoration_minutes",
        "complaints", "customers", "complaints_per_10k", "satisfaction_avg", "satisfaction_count",
        "repeat_outage_customers",
    )} == {
        "received": 3, "merged": 0,
        "arrival_measured": 3, "arrival_on_time": 1, "arrival_on_time_pct": 33.3, "avg_arrival_minutes": 75.0,
        "restoration_measured": 2, "restoration_on_time": 1, "restoration_on_time_pct": 50.0,
        "avg_restoration_minutes": 225.0,
        "complaints": 2, "customers": 4, "complaints_per_10k": 5000.0,
        "satisfaction_avg": 3.5, "satisfaction_count": 2,
        "repeat_outage_customers": 2,  # A1: two T1 outages and its own ticket; A3: F2 and two tickets
    }  # fmt: skip
    assert overall["breaches"]["arrival"] == 2 and sum(overall["breaches"].values()) == 2
    assert set(overall["complaint_topics"]) >= {"迟到", "频繁"}
    counties = {c["county"]: c for c in report["counties"]}
    assert set(counties) == {"青山县", "云岭县"}
    assert (counties["青山县"]["received"], counties["青山县"]["customers"], counties["青山县"]["complaints"]) == (
        2,
        3,
        1,
    )
    assert counties["青山县"]["complaints_per_10k"] == 3333.33 and counties["云岭县"]["complaints_per_10k"] == 10000.0
    assert counties["云岭县"]["arrival_on_time_pct"] == 0.0 and counties["云岭县"]["repeat_outage_customers"] == 1
    cells = {c["code"]: c for c in report["grid_cells"]}
    assert cells["C1"]["arrival_on_time_pct"] == 50.0 and cells["C1"]["breaches"]["arrival"] == 1
    assert cells["C2"]["received"] == 1 and cells["C2"]["breaches"]["arrival"] == 1
    workers = {w["code"]: w for w in report["workers"]}
    assert (workers["W1"]["received"], workers["W1"]["arrival_on_time_pct"], workers["W1"]["satisfaction_avg"]) == (
        2, 50.0, 3.5,
    )  # fmt: skip
    assert workers["W3"]["arrival_measured"] == 1 and workers["W3"]["avg_arrival_minutes"] is None
    assert (
        counties["青山县"]["application_stages_finished"],
        counties["青山县"]["application_stages_on_time_pct"],
    ) == (
        2,
        50.0,
    )
    assert cells["C2"]["application_stages_finished"] == 0 and cells["C2"]["application_stages_on_time_pct"] is None
    stages = {s["stage"]: s for s in report["applications"]}
    assert (stages["accepted"]["finished"], stages["accepted"]["on_time"]) == (1, 0)
    assert (stages["survey"]["finished"], stages["survey"]["on_time"], stages["survey"]["on_time_pct"]) == (1, 1, 100.0)
    assert report["pushes"]["sent_by_channel"] == {"wecom": sent_wecom}
    assert (report["pushes"]["failed"], report["pushes"]["pending"]) == (1, pending)
    assert report["conversations"] == {
        "conversations": 6, "handed_off": 2, "resolved_by_assistant": 4, "containment_pct": 66.7,
        "fallbacks": 2, "resolved_events": 1,
    }  # fmt: skip

    week = client.get("/api/v1/reports/weekly", params={"week": "2026-10-07"}, headers=admin_headers).json()
    assert week["period"]["label"] == "2026-W41" and week["overall"]["received"] == 1
    day = client.get("/api/v1/reports/daily", params={"date": "2026-10-12"}, headers=admin_headers).json()
    assert day["overall"]["received"] == 1 and day["overall"]["arrival_on_time"] == 0


def test_the_monthly_workbook_ranks_cells_and_workers_under_chinese_headings(
    client: TestClient, admin_headers: dict[str, str], october: dict[str, str]
) -> None:
    """The 月考评 workbook: its sheets, the overview's figures, the rankings (W1, who arrived on time
    once, above W3, who never did); a daily workbook has no rankings and says when a sheet is empty."""
    answer = client.get("/api/v1/reports/monthly", params={"month": "2026-10", "format": "xlsx"}, headers=admin_headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "%E6%9C%88%E8%80%83%E8%AF%84" in answer.headers["content-disposition"]  # 月考评
    book = load_workbook(BytesIO(answer.content))
    assert book.sheetnames == ["总体", "县公司", "网格", "网格员", "网格排名", "网格员排名", "业扩时限", "推送与对话"]
    overview = [row for row in book["总体"].iter_rows(values_only=True)]
    assert overview[0][0] == "月考评（2026-10）"
    assert ("到达及时率(%)", 33.3) in overview and ("频繁停电用户", 2) in overview
    ranking = list(book["网格员排名"].iter_rows(values_only=True))
    assert ranking[0][:4] == ("排名", "姓名", "受理工单", "合并工单")
    assert [row[1] for row in ranking[1:]] == ["网格员W1", "网格员W3"]  # W1 arrived on time once, W3 never
    assert [row[1] for row in list(book["网格排名"].iter_rows(values_only=True))[1:]] == ["城关一网格", "城关二网格"]
    month = client.get("/api/v1/reports/monthly", params={"month": "2026-10"}, headers=admin_headers).json()
    assert month["rankings"] == {"grid_cells": ["C1", "C2"], "workers": ["W1", "W3"]}  # the workbook's order
    daily = client.get("/api/v1/reports/daily", params={"date": "2026-10-03", "format": "xlsx"}, headers=admin_headers)
    sheets = load_workbook(BytesIO(daily.content))
    assert "网格排名" not in sheets.sheetnames
    assert list(sheets["网格员"].iter_rows(values_only=True))[1][0] == "本期无数据"


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("monthly", {"month": "2099-01"}, "period_in_future"),
        ("monthly", {"month": "2026-13"}, "invalid_month"),
        ("monthly", {"month": "10-2026"}, "invalid_month"),
        ("daily", {"date": "2026-02-30"}, "invalid_date"),
        ("daily", {"date": "tomorrow"}, "invalid_date"),
        ("daily", {"date": "1999-12-31"}, "period_out_of_range"),
        ("weekly", {"week": "2026-W60"}, "invalid_week"),
        ("weekly", {"week": "2099-W01"}, "period_in_future"),
        ("daily", {}, "validation_error"),
        ("monthly", {"month": "2026-10", "format": "pdf"}, "validation_error"),
    ],
)
def test_bad_report_parameters_get_a_422_that_says_why(
    client: TestClient, admin_headers: dict[str, str], path: str, params: dict[str, str], code: str
) -> None:
    """A period not begun, a malformed or impossible date, week or month, a missing parameter or an
    unknown format: 422 with its own code and a message, no report."""
    answer = client.get(f"/api/v1/reports/{path}", params=params, headers=admin_headers)
    assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    assert answer.json()["message"]


def test_reports_are_for_the_admin_and_a_future_event_is_refused(
    client: TestClient, actions_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    """Reports need the admin token or a dispatcher, supervisor or admin signed in to the console (401
    without, 403 with the assistant's token or an agent's session); a conversation event from the
    future or of an unknown kind is refused."""
    today = clock.local_today().isoformat()
    assert client.get("/api/v1/reports/daily", params={"date": today}).status_code == 401
    assert client.get("/api/v1/reports/daily", params={"date": today}, headers=actions_headers).status_code == 403
    for username, role, status in (("agent09", "agent", 403), ("dispatcher09", "dispatcher", 200)):
        person = {"username": username, "name": "测试", "role": role, "password": "password-of-the-test"}
        client.post("/api/v1/staff", json=person, headers=admin_headers).raise_for_status()
        client.post("/api/v1/staff/sessions", json=person).raise_for_status()  # the cookie stays in the client
        assert client.get("/api/v1/reports/weekly", params={"week": today}).status_code == status
    assert "rankings" not in client.get("/api/v1/reports/daily", params={"date": today}).json()
    later = (clock.now() + timedelta(hours=1)).isoformat()
    body = {"sender_id": "o_a1", "channel": "wechat", "kind": "fallback", "at": later}
    refused = client.post("/api/v1/conversation-events", json=body, headers=actions_headers)
    assert refused.status_code == 422 and refused.json()["code"] == "event_in_future"
    body = {"sender_id": "o_a1", "channel": "wechat", "kind": "confused", "at": clock.now().isoformat()}
    assert client.post("/api/v1/conversation-events", json=body, headers=actions_headers).status_code == 422
