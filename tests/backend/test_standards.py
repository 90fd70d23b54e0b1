"""Service standards enforced with a controllable clock: each warning and each breach fires once, at
its moment, to the people it is for, with China's holidays and adjusted working weekends counted."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.applications import service as applications
from backend.applications.schemas import ApplicationCreate
from backend.core import clock
from backend.core.config import Settings
from backend.core.workdays import WorkCalendar, work_calendar
from backend.customers import service as customers
from backend.notifications.models import OutboxMessage
from backend.notifications.templates import render
from backend.outages import service as outages
from backend.outages.notices import check_notice_lead, notice_ahead
from backend.outages.schemas import OutageCreate
from backend.sla.models import SlaEvent
from backend.tickets import deadlines, service
from backend.topology import service as topology
from tests.backend.conftest import County

Check = Callable[..., int | None]


class ControlledClock:
    """`clock.now()` for the code under test: a moment the test sets."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def at(self, local: str) -> datetime:
        self.moment = datetime.fromisoformat(local).replace(tzinfo=clock.LOCAL_ZONE)
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> ControlledClock:
    controlled = ControlledClock(datetime(2026, 11, 3, 10, 0, tzinfo=clock.LOCAL_ZONE))  # a Tuesday
    monkeypatch.setattr(clock, "now", controlled)
    return controlled


@pytest.fixture
def standards(settings: Settings) -> Settings:
    return settings.model_copy(update={"duty_dispatcher_wecom_ids": ["dd_wang", "dd_li"]})


def run(factory: sessionmaker[Session], settings: Settings, check: Check, now: datetime, times: int = 1) -> None:
    """Run a check's pages as a notifier would, `times` times (several notifiers, several rounds)."""
    for _ in range(times):
        after = 0
        while True:
            with factory() as session, session.begin():
                last = check(session, settings, now=now, after_id=after, limit=1)
            if last is None:
                break
            after = last


def sla_pushes(factory: sessionmaker[Session]) -> dict[str, OutboxMessage]:
    with factory() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key.startswith("sla:")))
        return {row.dedup_key: row for row in rows}


def events(factory: sessionmaker[Session]) -> list[tuple[str, str, str, str]]:
    with factory() as session:
        rows = session.execute(select(SlaEvent.standard, SlaEvent.subject, SlaEvent.stage, SlaEvent.step))
        return sorted(tuple(row) for row in rows)  # type: ignore[misc]


def ids(factory: sessionmaker[Session], *codes: str) -> dict[str, int]:
    with factory() as session:
        return {code: topology.get_worker(session, code).id for code in codes}


def open_ticket(factory: sessionmaker[Session], settings: Settings, account_no: str, kind: str = "repair") -> str:
    with factory() as session, session.begin():
        ticket = service.open_ticket(
            session,
            settings,
            kind=kind,
            customer=customers.get_customer(session, account_no),
            channel="wechat",
            sender_id="o_a1",
            description="家里停电了" if kind == "repair" else "抢修师傅态度不好",
            actor="assistant",
        )
        return ticket.ticket_no


def test_arrival_warns_the_worker_at_80_percent_and_escalates_once_at_the_deadline(
    session_factory: sessionmaker[Session], standards: Settings, county: County, frozen: ControlledClock
) -> None:
    """An urban repair (45 min): nothing at 35 min, the worker warned at 36 min (once, though the check
    runs again), and at 45 min the cell's supervisor and both duty dispatchers escalated to, the
    customer told a new estimate; a second notifier's run adds nothing."""
    start = frozen.at("2026-11-03T10:00:00")
    number = open_ticket(session_factory, standards, county.a1)
    who = ids(session_factory, "W1", "S1")
    with session_factory() as session:
        assert service.get_ticket(session, number).worker_id == who["W1"]

    run(session_factory, standards, deadlines.check_arrival, start + timedelta(minutes=35))
    assert sla_pushes(session_factory) == {}
    run(session_factory, standards, deadlines.check_arrival, start + timedelta(minutes=36), times=2)
    warned = sla_pushes(session_factory)
    assert list(warned) == [f"sla:arrival:{number}:warning:w:{who['W1']}"]
    warning = warned[f"sla:arrival:{number}:warning:w:{who['W1']}"]
    assert warning.template == "sla_warning" and warning.urgent
    assert render("sla_warning", warning.params, reference=start).text == (
        f"时限提醒：抢修工单{number}到达现场的时限为今天10:45，即将超时，请尽快处理。"
    )
    run(session_factory, standards, deadlines.check_arrival, start + timedelta(minutes=44))
    assert len(sla_pushes(session_factory)) == 1

    run(session_factory, standards, deadlines.check_arrival, start + timedelta(minutes=45), times=2)
    pushes = sla_pushes(session_factory)
    breach = f"sla:arrival:{number}:breach"
    assert set(pushes) - set(warned) == {
        f"{breach}:w:{who['S1']}",
        f"{breach}:u:dd_wang",
        f"{breach}:u:dd_li",
        f"{breach}:customer",
    }
    escalated = pushes[f"{breach}:u:dd_wang"]
    assert escalated.wecom_user_id == "dd_wang" and escalated.template == "sla_breached"
    assert render("sla_breached", escalated.params, reference=start).text == (
        f"超时督办：抢修工单{number}到达现场已超过时限（今天10:45），责任人网格员W1，请协调处理。"
    )
    told = pushes[f"{breach}:customer"]
    with session_factory() as session:
        assert told.customer_id == customers.get_customer(session, county.a1).id
    # Half the 45 minutes again from 10:45, rounded up to five minutes: 11:10.
    assert render("ticket_arrival_delayed", told.params, reference=start).text == (
        f"非常抱歉，抢修人员未能在承诺的今天10:45前到达（工单{number}），我们已督促加快，"
        "预计今天11:10前到达，给您带来不便敬请谅解。"
    )
    assert events(session_factory) == [("arrival", number, "", "breach"), ("arrival", number, "", "warning")]
    with session_factory() as session:
        timeline = service.read(session, service.get_ticket(session, number)).timeline
    assert [(line.type, line.note) for line in timeline if line.type == "deadline_missed"] == [
        ("deadline_missed", "到达现场超过时限（11月3日10:45），已告知客户新的预计时间11月3日11:10")
    ]
    with session_factory() as session:
        breach_row = session.scalar(select(SlaEvent).where(SlaEvent.step == "breach"))
        assert breach_row is not None and breach_row.worker_id == who["W1"]
        assert breach_row.grid_cell_id == topology.get_grid_cell(session, "C1").id


def test_an_arrival_on_time_starts_the_restoration_clock_and_nothing_is_escalated(
    session_factory: sessionmaker[Session], standards: Settings, county: County, frozen: ControlledClock
) -> None:
    """The worker arrives at 20 min: no arrival warning or breach ever; the restoration standard
    (3 h urban) then warns at 2 h 24 min after arrival and breaches at 3 h with a new estimate."""
    start = frozen.at("2026-11-03T10:00:00")
    number = open_ticket(session_factory, standards, county.a1)
    frozen.advance(minutes=5)
    with session_factory() as session, session.begin():
        service.apply_event(session, standards, number, event="accept", actor="worker", worker_code="W1")
    arrived = frozen.advance(minutes=15)
    with session_factory() as session, session.begin():
        service.apply_event(session, standards, number, event="arrive", actor="worker", worker_code="W1")
    for check in (deadlines.check_arrival, deadlines.check_restoration):
        run(session_factory, standards, check, start + timedelta(hours=1))
    assert sla_pushes(session_factory) == {}

    run(session_factory, standards, deadlines.check_restoration, arrived + timedelta(hours=2, minutes=23))
    assert sla_pushes(session_factory) == {}
    run(session_factory, standards, deadlines.check_restoration, arrived + timedelta(hours=2, minutes=24))
    assert [key.split(":")[3] for key in sla_pushes(session_factory)] == ["warning"]
    run(session_factory, standards, deadlines.check_restoration, arrived + timedelta(hours=3), times=2)
    told = sla_pushes(session_factory)[f"sla:restoration:{number}:breach:customer"]
    assert render("ticket_restore_delayed", told.params, reference=start).text == (
        f"非常抱歉，工单{number}的故障未能在今天13:20前处理完毕，抢修人员仍在全力处理，"
        "预计今天14:50前恢复供电，给您带来不便敬请谅解。"
    )
    for check in (deadlines.check_arrival, deadlines.check_restoration):
        run(session_factory, standards, check, arrived + timedelta(hours=9))
    assert events(session_factory) == [("restoration", number, "", "breach"), ("restoration", number, "", "warning")]


def test_a_complaint_answer_deadline_counts_national_day_off_and_the_adjusted_saturday_as_worked(
    session_factory: sessionmaker[Session], standards: Settings, county: County, frozen: ControlledClock
) -> None:
    """A complaint made on Wednesday 30 September 2026 at 10:00: 1-7 October are the National Day
    holiday, Saturday 10 October is worked (调休), so its 4 working days are 8, 9, 10 and 12 October.
    Contact (24 h) breaches on 1 October; the answer is warned at 80 % of the twelve days and
    breaches on 12 October at 10:00, to the duty dispatchers (its supervisor answers for it), with a
    new answer date two working days on."""
    frozen.at("2026-09-30T10:00:00")
    number = open_ticket(session_factory, standards, county.a1, kind="complaint")
    who = ids(session_factory, "S1")
    with session_factory() as session:
        ticket = service.get_ticket(session, number)
        assert ticket.worker_id == who["S1"]  # complaints go to the cell's supervisor
        assert clock.to_local(ticket.answer_deadline) == datetime(2026, 10, 12, 10, 0, tzinfo=clock.LOCAL_ZONE)

    def at(local: str) -> datetime:
        return datetime.fromisoformat(local).replace(tzinfo=clock.LOCAL_ZONE)

    checks = (deadlines.check_complaint_contact, deadlines.check_complaint_answer)
    for check in checks:
        run(session_factory, standards, check, at("2026-10-01T05:11:00"))
    assert sla_pushes(session_factory) == {}
    run(session_factory, standards, deadlines.check_complaint_contact, at("2026-10-01T05:12:00"))  # 80 % of 24 h
    assert list(sla_pushes(session_factory)) == [f"sla:complaint_contact:{number}:warning:w:{who['S1']}"]
    run(session_factory, standards, deadlines.check_complaint_contact, at("2026-10-01T10:00:00"))
    contact = {k for k in sla_pushes(session_factory) if ":breach:" in k}
    assert contact == {f"sla:complaint_contact:{number}:breach:{r}" for r in ("u:dd_wang", "u:dd_li", "customer")}

    frozen.at("2026-10-02T09:00:00")
    with session_factory() as session, session.begin():
        service.apply_event(session, standards, number, event="accept", actor="worker", worker_code="S1")
    run(session_factory, standards, deadlines.check_complaint_answer, at("2026-10-10T00:23:00"))
    assert not any(k.startswith("sla:complaint_answer") for k in sla_pushes(session_factory))
    run(session_factory, standards, deadlines.check_complaint_answer, at("2026-10-10T00:25:00"))  # 9.6 of 12 days
    assert [k for k in sla_pushes(session_factory) if k.startswith("sla:complaint_answer")] == [
        f"sla:complaint_answer:{number}:warning:w:{who['S1']}"
    ]
    run(session_factory, standards, deadlines.check_complaint_answer, at("2026-10-12T09:59:00"))
    run(session_factory, standards, deadlines.check_complaint_answer, at("2026-10-12T10:00:00"), times=2)
    answer = sla_pushes(session_factory)
    told = answer[f"sla:complaint_answer:{number}:breach:customer"]
    assert render("complaint_answer_delayed", told.params, reference=at("2026-10-12T10:00:00")).text == (
        f"非常抱歉，您反映的问题（工单{number}）未能在今天10:00前答复，我们正在加紧核实，将于10月14日10:00前给您答复。"
    )
    assert f"sla:complaint_answer:{number}:breach:w:{who['S1']}" not in answer
    assert len([e for e in events(session_factory) if e[0] == "complaint_answer"]) == 2


def application(factory: sessionmaker[Session], settings: Settings, county: County, kind: str) -> str:
    with factory() as session, session.begin():
        app = applications.create_application(
            session,
            settings,
            ApplicationCreate(
                account_no=county.a4,
                applicant_name="青山县鑫源超市",
                type=kind,  # type: ignore[arg-type]
                capacity_kva=630,
                address="青山县城关镇人民路4号",
                manager_name="网格员W1",
                manager_phone="13900000000",  # W1's phone: the manager hears by WeCom
            ),
        )
        return app.application_no


def advance(factory: sessionmaker[Session], settings: Settings, number: str) -> str:
    with factory() as session, session.begin():
        return applications.advance(session, settings, number).stage


def test_each_application_stage_has_its_own_limit_and_types_skip_the_stages_they_do_not_need(
    session_factory: sessionmaker[Session], standards: Settings, county: County, frozen: ControlledClock
) -> None:
    """A high-voltage single-source application's 供电方案答复 (10 working days) entered on Friday 25
    September 2026, the Mid-Autumn holiday: 26-27 September and 1-7 October are off and Saturday
    10 October is worked, so its deadline is 15 October. The manager is warned once after 80 % of
    the time, the breach goes to the supervisor of the customer's cell and the duty dispatchers, and
    the applicant is told a new estimate. A residential application skips design review."""
    frozen.at("2026-09-23T09:00:00")
    number = application(session_factory, standards, county, "high_voltage_single")
    frozen.at("2026-09-24T09:00:00")
    assert advance(session_factory, standards, number) == "survey"
    frozen.at("2026-09-25T09:00:00")
    entered = frozen.moment
    assert advance(session_factory, standards, number) == "plan_reply"
    limits = applications.Limits.of(standards)
    deadline = limits.stage_deadline("high_voltage_single", "plan_reply", entered)
    assert deadline == datetime(2026, 10, 15, 9, 0, tzinfo=clock.LOCAL_ZONE)
    warn_at = entered + (deadline - entered) * 0.8  # 16 of the 20 days: 11 October
    who = ids(session_factory, "W1", "S1")
    check = applications.check_stage_limits

    run(session_factory, standards, check, warn_at - timedelta(minutes=1))
    assert sla_pushes(session_factory) == {}
    run(session_factory, standards, check, warn_at, times=2)
    assert list(sla_pushes(session_factory)) == [f"sla:application_stage:{number}:plan_reply:warning:w:{who['W1']}"]
    run(session_factory, standards, check, deadline, times=2)
    breach = f"sla:application_stage:{number}:plan_reply:breach"
    pushes = sla_pushes(session_factory)
    assert {k for k in pushes if k.startswith(breach)} == {
        f"{breach}:w:{who['S1']}",
        f"{breach}:u:dd_wang",
        f"{breach}:u:dd_li",
        f"{breach}:customer",
    }
    assert render("sla_breached", pushes[f"{breach}:w:{who['S1']}"].params, reference=deadline).text == (
        f"超时督办：用电申请{number}“供电方案答复”环节办结已超过时限（今天09:00），责任人网格员W1，请协调处理。"
    )
    told = render("application_stage_delayed", pushes[f"{breach}:customer"].params, reference=deadline).text
    assert told == (
        f"非常抱歉，您的用电申请{number}“供电方案答复”环节未能在今天09:00前办结，我们正在加紧办理，"
        "预计10月22日09:00前办结，客户经理网格员W1（13900000000）会与您保持联系。"
    )  # 5 working days on (half of 10)

    frozen.at("2026-10-19T09:00:00")
    assert advance(session_factory, standards, number) == "design_review"  # the next stage's clock starts
    run(session_factory, standards, check, datetime(2026, 10, 19, 12, 0, tzinfo=clock.LOCAL_ZONE))
    assert len(events(session_factory)) == 2

    home = application(session_factory, standards, county, "residential")
    stages = [advance(session_factory, standards, home) for _ in range(4)]
    assert stages == ["survey", "plan_reply", "completion_check", "connected"]


def test_a_stage_limit_can_be_configured_and_a_bad_one_is_refused(standards: Settings) -> None:
    """APPLICATION_STAGE_DAYS changes one stage (and the total); a stage a type skips, an unknown type
    or a zero limit is a configuration error."""
    faster = standards.model_copy(update={"application_stage_days": {"high_voltage_single": {"plan_reply": 8}}})
    limits = applications.Limits.of(faster)
    assert limits.days["high_voltage_single"]["plan_reply"] == 8 and limits.total("high_voltage_single") == 20
    for wrong in ({"residential": {"design_review": 2}}, {"farm": {"survey": 1}}, {"low_voltage": {"survey": 0}}):
        with pytest.raises(ValueError, match="APPLICATION_STAGE_DAYS"):
            applications.Limits.of(standards.model_copy(update={"application_stage_days": wrong}))


def test_the_holiday_table_of_a_year_the_library_lacks_comes_from_the_configured_file(tmp_path: Path) -> None:
    """chinese-calendar 1.11 stops at 2026; the 2027 table written by the utility is used (New Year's
    Day off, an adjusted Sunday worked), and a year with no table at all counts Monday to Friday."""
    table = tmp_path / "holidays.json"
    table.write_text(json.dumps({"holidays": ["2027-01-01"], "workdays": ["2027-02-07"]}))
    calendar = work_calendar(table)
    assert not calendar.is_working_day(datetime(2027, 1, 1).date())  # Friday, New Year's Day
    assert calendar.is_working_day(datetime(2027, 2, 7).date())  # Sunday, worked
    assert calendar.is_working_day(datetime(2027, 1, 4).date())  # an ordinary Monday
    dec31 = datetime(2026, 12, 31, 10, 0, tzinfo=clock.LOCAL_ZONE)  # Thursday
    assert calendar.add(dec31, 1).date().isoformat() == "2027-01-04"
    assert WorkCalendar().add(dec31, 1).date().isoformat() == "2027-01-01"  # no table: weekdays
    assert calendar.between(dec31, datetime(2027, 1, 5, tzinfo=clock.LOCAL_ZONE)) == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"holidays": ["2027-13-01"]}')
    with pytest.raises(ValueError, match="WORKING_CALENDAR_FILE"):
        WorkCalendar.from_file(bad)


def test_an_outage_published_too_late_for_its_notice_breaches_at_once_and_one_in_time_never(
    session_factory: sessionmaker[Session], standards: Settings, county: County, frozen: ControlledClock
) -> None:
    """A planned outage three days ahead misses the 7-day notice: the duty dispatchers are told once.
    One published ten days ahead has its notices queued for the 7-day mark: when they are sent there,
    nothing fires; left unsent, the dispatchers are warned, then told of the breach after the grace."""
    now = frozen.at("2026-11-03T10:00:00")
    ahead = notice_ahead(standards)

    def publish(days: int) -> int:
        with session_factory() as session, session.begin():
            starts = now + timedelta(days=days)
            data = OutageCreate(
                kind="planned",
                cause="10kV线路检修",
                starts_at=starts,
                estimated_restore_at=starts + timedelta(hours=8),
                transformer_codes=["T1"],
            )
            return outages.create_outage(session, data, notice_ahead=ahead).id

    late, timely = publish(3), publish(10)
    run(session_factory, standards, check_notice_lead, now, times=2)
    pushes = sla_pushes(session_factory)
    assert set(pushes) == {f"sla:outage_notice:outage:{late}:breach:u:{d}" for d in ("dd_wang", "dd_li")}
    text = render("sla_breached", pushes[f"sla:outage_notice:outage:{late}:breach:u:dd_li"].params, reference=now).text
    assert text == "超时督办：计划停电“10kV线路检修”的提前通知已超过时限（10月30日10:00），责任人调度中心，请协调处理。"
    due = now + timedelta(days=3)  # the timely outage's notices fall due
    run(session_factory, standards, check_notice_lead, due + timedelta(minutes=23))
    assert len(sla_pushes(session_factory)) == 2
    run(session_factory, standards, check_notice_lead, due + timedelta(minutes=24))  # 80 % of the 30 min grace
    warned = {k for k in sla_pushes(session_factory) if f"outage:{timely}:warning" in k}
    assert warned == {f"sla:outage_notice:outage:{timely}:warning:u:{d}" for d in ("dd_wang", "dd_li")}
    with session_factory() as session, session.begin():
        for row in session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedup_key.startswith(f"outage:{timely}:notice:"))
        ):
            row.status = "sent"
    run(session_factory, standards, check_notice_lead, due + timedelta(minutes=31))
    assert not any(f"outage:{timely}:breach" in k for k in sla_pushes(session_factory))
