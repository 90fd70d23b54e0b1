"""The notifier's periodic reminders: applications at risk to their managers, arrears to customers.

Each push goes once (per application and stage, per bill), however often the job runs, and two
notifiers running it at the same moment still enqueue each push once.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.applications import service as applications
from backend.applications.schemas import ApplicationCreate
from backend.billing import service as billing
from backend.billing.models import Bill
from backend.billing.schemas import BillCreate
from backend.billing.tariff import Tariff
from backend.core import clock
from backend.core.config import Settings
from backend.notifications.models import OutboxMessage
from backend.notifications.templates import render
from backend.notifications.worker import remind
from backend.topology import service as topology
from tests.backend.conftest import County

W1_PHONE = "13900000000"  # grid worker W1 of the county, also a customer manager here


def working_days_ago(days: int) -> datetime:
    """A moment exactly `days` working days before now (as the time limits count them)."""
    moment = candidate = clock.now()
    while applications.working_days_between(candidate, moment) < days:
        candidate -= timedelta(days=1)
    return candidate


def pushes(factory: sessionmaker[Session], template: str) -> dict[str, OutboxMessage]:
    with factory() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.template == template))
        return {row.dedup_key: row for row in rows}


def application(
    session: Session, settings: Settings, kind: str, *, used: int, manager_phone: str, completed: bool = False
) -> str:
    data = ApplicationCreate(
        applicant_name=f"申请人{kind}{used}",
        type=kind,  # type: ignore[arg-type]
        capacity_kva=50,
        address="青山县城关镇人民路1号",
        manager_name="周敏",
        manager_phone=manager_phone,
    )
    app = applications.create_application(session, settings, data)
    app.submitted_at = working_days_ago(used)
    app.completed_at = clock.now() if completed else None
    return app.application_no


def test_managers_are_warned_once_per_stage_of_an_application_at_risk(
    session_factory: sessionmaker[Session], settings: Settings, county: County
) -> None:
    with session_factory() as session, session.begin():
        on_worker = application(session, settings, "residential", used=4, manager_phone=W1_PHONE)  # 4 of 5 days
        by_sms = application(session, settings, "low_voltage", used=5, manager_phone="13700001111")  # 5 of 6
        application(session, settings, "residential", used=1, manager_phone="13700001111")  # on time
        application(session, settings, "residential", used=7, manager_phone="13700001111")  # already late
        application(session, settings, "residential", used=4, manager_phone="13700001111", completed=True)

    remind(settings, batch=2)  # pages of two: every page is looked at
    warned = pushes(session_factory, "application_at_risk")
    assert set(warned) == {f"application:{on_worker}:at_risk:accepted", f"application:{by_sms}:at_risk:accepted"}
    to_worker, to_phone = (
        warned[f"application:{on_worker}:at_risk:accepted"],
        warned[f"application:{by_sms}:at_risk:accepted"],
    )
    with session_factory() as session:
        assert to_worker.worker_id == topology.get_worker(session, "W1").id  # a registered worker: WeCom
    assert to_phone.worker_id is None and to_phone.phone == "13700001111"  # anyone else: SMS
    assert not to_worker.urgent and not to_phone.urgent
    text = render("application_at_risk", to_phone.params).text
    assert f"用电申请{by_sms}（申请人low_voltage5）“受理”阶段可能超期" in text

    remind(settings, batch=2)
    assert set(pushes(session_factory, "application_at_risk")) == set(warned)  # once per stage

    with session_factory() as session, session.begin():
        applications.advance(session, settings, on_worker)
    remind(settings, batch=2)
    assert set(pushes(session_factory, "application_at_risk")) == set(warned) | {
        f"application:{on_worker}:at_risk:survey"
    }


def test_the_at_risk_share_is_configurable(
    session_factory: sessionmaker[Session], settings: Settings, county: County
) -> None:
    with session_factory() as session, session.begin():
        number = application(session, settings, "high_voltage_single", used=11, manager_phone="13700001111")
    remind(settings, batch=10)  # 11 of 22 days: not yet at the default 80 %
    assert pushes(session_factory, "application_at_risk") == {}
    remind(settings.model_copy(update={"application_at_risk_share": 0.5}), batch=10)
    assert set(pushes(session_factory, "application_at_risk")) == {f"application:{number}:at_risk:accepted"}


def last_overdue_period(today: date) -> str:
    period = f"{today:%Y-%m}"
    while billing.due_date_of(period) >= today:
        period = billing.shift_period(period, -1)
    return period


def issue(session: Session, account_no: str, period: str, kwh: int, *, paid: bool = False) -> Bill:
    bill = billing.issue_bill(session, Tariff(), BillCreate(account_no=account_no, period=period, kwh=kwh))
    bill.paid = paid
    return bill


def test_customers_are_reminded_once_per_unpaid_overdue_bill(
    session_factory: sessionmaker[Session], settings: Settings, county: County
) -> None:
    today = clock.local_today()
    overdue = last_overdue_period(today)
    # The lookback reaches the last due date whatever the day of the month (the default is 30 days).
    settings = settings.model_copy(update={"arrears_reminder_days": 31})
    with session_factory() as session, session.begin():
        a1_now = issue(session, county.a1, overdue, 300)
        a1_old = issue(session, county.a1, billing.shift_period(overdue, -6), 200)  # long overdue, still owed
        issue(session, county.a2, overdue, 150, paid=True)
        a3_now = issue(session, county.a3, overdue, 100)
        issue(session, county.a4, billing.shift_period(overdue, 1), 900)  # not yet due
        owed = {county.a1: a1_now.amount + a1_old.amount, county.a3: a3_now.amount}

    remind(settings, batch=1)
    reminded = pushes(session_factory, "arrears_reminder")
    assert set(reminded) == {f"bill:{county.a1}:{overdue}:arrears", f"bill:{county.a3}:{overdue}:arrears"}
    for key, row in reminded.items():
        account = key.split(":")[1]
        assert Decimal(row.params["arrears"]) == owed[account]  # all the customer owes
        assert not row.urgent and row.customer_id is not None
    text = render("arrears_reminder", reminded[f"bill:{county.a1}:{overdue}:arrears"].params).text
    assert text.startswith(f"您户号1000****01目前欠费{owed[county.a1]:.2f}元，请尽快缴纳")

    remind(settings, batch=1)
    assert set(pushes(session_factory, "arrears_reminder")) == set(reminded)  # once per bill


def test_the_bill_notice_names_the_account_and_the_due_day(
    session_factory: sessionmaker[Session], county: County
) -> None:
    with session_factory() as session, session.begin():
        issue(session, county.a1, "2026-10", 300)
    notice = pushes(session_factory, "bill_issued")[f"bill:{county.a1}:2026-10:issued"]
    text = render("bill_issued", notice.params, reference=datetime(2026, 11, 10, tzinfo=clock.LOCAL_ZONE)).text
    assert text.startswith("您户号1000****01的2026年10月电费") and "请于11月25日前缴纳" in text


def test_two_notifiers_running_the_reminders_at_once_enqueue_each_push_once(
    session_factory: sessionmaker[Session],
    settings: Settings,
    county: County,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with session_factory() as session, session.begin():
        number = application(session, settings, "residential", used=4, manager_phone="13700001111")
        for account in (county.a1, county.a3):
            issue(session, account, last_overdue_period(clock.local_today()), 100)
    settings = settings.model_copy(update={"arrears_reminder_days": 31})
    # Both runs find the same rows unreminded before either commits.
    enqueue_now = billing.enqueue

    def slow_enqueue(session: Session, **row: Any) -> OutboxMessage:
        written = enqueue_now(session, **row)
        time.sleep(0.3)
        return written

    monkeypatch.setattr(billing, "enqueue", slow_enqueue)
    monkeypatch.setattr(applications, "enqueue", slow_enqueue)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def notifier() -> None:
        start.wait()
        try:
            remind(settings, batch=10)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=notifier) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert set(pushes(session_factory, "application_at_risk")) == {f"application:{number}:at_risk:accepted"}
    assert len(pushes(session_factory, "arrears_reminder")) == 2
