"""The notifier's periodic reminders: arrears to customers, and the 业扩 stage warnings to managers.

Each push goes once (per bill, per application and stage), however often the job runs, and two
notifiers running it at the same moment still enqueue each push once.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.applications import scheduled as application_jobs
from backend.applications import service as applications
from backend.applications.models import ApplicationStage
from backend.applications.schemas import ApplicationCreate
from backend.billing import scheduled as billing_jobs
from backend.billing import service as billing
from backend.billing.models import Bill
from backend.billing.schemas import BillCreate
from backend.billing.tariff import Tariff
from backend.core import clock
from backend.core.config import Settings
from backend.notifications.models import OutboxMessage
from backend.notifications.templates import render
from backend.sla import service as sla
from tests.backend.conftest import County


def remind(factory: sessionmaker[Session], settings: Settings, batch: int) -> None:
    """One run of the arrears job, as a notifier runs it."""
    for job in billing_jobs.JOBS:
        job.run(factory, settings, batch)


def pushes(factory: sessionmaker[Session], template: str) -> dict[str, OutboxMessage]:
    with factory() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.template == template))
        return {row.dedup_key: row for row in rows}


def every_day_worked(directory: Path) -> Path:
    """A holiday table (WORKING_CALENDAR_FILE) that works every day from 60 days ago to 60 days ahead.

    A stage limit counts working days, and on a Saturday morning no stage of a few working days is
    inside its warning window (one entered on Friday ends on Monday, its warning on Sunday): a test
    that needs one now, whatever the day it runs, counts with this table.
    """
    today = clock.local_today()
    table = {"workdays": [(today + timedelta(days=n)).isoformat() for n in range(-60, 61)]}
    path = directory / "every-day-worked.json"
    path.write_text(json.dumps(table), encoding="utf-8")
    return path


def stage_in_warning(session: Session, settings: Settings, number: str) -> None:
    """Move the application's current stage back so that now is past its warning, before its deadline
    (`settings` counting with `every_day_worked`, so that such a start exists on any day)."""
    limits = applications.Limits.of(settings)
    app = applications.get_application(session, number)
    stage = session.scalars(select(ApplicationStage).where(ApplicationStage.application_id == app.id)).one()
    now = clock.now()
    for hours in range(20, 200):
        entered = now - timedelta(hours=hours)
        deadline = limits.stage_deadline(app.type, app.stage, entered)
        if sla.warning_at(entered, deadline, settings.sla_warning_share) <= now < deadline:
            stage.entered_at = entered
            return
    raise AssertionError("no start puts now in the warning window")


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

    remind(session_factory, settings, batch=1)
    reminded = pushes(session_factory, "arrears_reminder")
    assert set(reminded) == {f"bill:{county.a1}:{overdue}:arrears", f"bill:{county.a3}:{overdue}:arrears"}
    for key, row in reminded.items():
        account = key.split(":")[1]
        assert Decimal(row.params["arrears"]) == owed[account]  # all the customer owes
        assert not row.urgent and row.customer_id is not None
    text = render("arrears_reminder", reminded[f"bill:{county.a1}:{overdue}:arrears"].params).text
    assert text.startswith(f"您户号1000****01目前欠费{owed[county.a1]:.2f}元，请尽快缴纳")

    remind(session_factory, settings, batch=1)
    assert set(pushes(session_factory, "arrears_reminder")) == set(reminded)  # once per bill


def test_the_bill_notice_names_the_account_and_the_due_day(
    session_factory: sessionmaker[Session], county: County
) -> None:
    with session_factory() as session, session.begin():
        issue(session, county.a1, "2026-10", 300)
    notice = pushes(session_factory, "bill_issued")[f"bill:{county.a1}:2026-10:issued"]
    text = render("bill_issued", notice.params, reference=datetime(2026, 11, 10, tzinfo=clock.LOCAL_ZONE)).text
    assert text.startswith("您户号1000****01的2026年10月电费") and "请于11月25日前缴纳" in text


def test_two_notifiers_running_the_checks_at_once_enqueue_each_push_once(
    session_factory: sessionmaker[Session],
    settings: Settings,
    county: County,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Both runs find the same rows not yet reminded or warned before either commits: the outbox's
    and the service-standard events' unique keys let one of them through."""
    settings = settings.model_copy(update={"working_calendar_file": every_day_worked(tmp_path)})
    with session_factory() as session, session.begin():
        number = applications.create_application(
            session,
            settings,
            ApplicationCreate(
                applicant_name="申请人",
                type="residential",
                capacity_kva=8,
                address="青山县城关镇人民路1号",
                manager_name="周敏",
                manager_phone="13700001111",
            ),
        ).application_no
        stage_in_warning(session, settings, number)
        for account in (county.a1, county.a3):
            issue(session, account, last_overdue_period(clock.local_today()), 100)
    settings = settings.model_copy(update={"arrears_reminder_days": 31})
    enqueue_now = billing.enqueue

    def slow_enqueue(session: Session, **row: Any) -> OutboxMessage:
        written = enqueue_now(session, **row)
        time.sleep(0.3)
        return written

    monkeypatch.setattr(billing, "enqueue", slow_enqueue)
    monkeypatch.setattr(sla, "enqueue", slow_enqueue)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def notifier() -> None:
        start.wait()
        try:
            for job in (*billing_jobs.JOBS, *application_jobs.JOBS):
                job.run(session_factory, settings, 10)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=notifier) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert set(pushes(session_factory, "sla_warning")) == {
        f"sla:application_stage:{number}:accepted:warning:p:13700001111"
    }
    assert len(pushes(session_factory, "arrears_reminder")) == 2
