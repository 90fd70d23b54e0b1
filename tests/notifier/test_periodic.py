"""The notifier's periodic jobs: each at its own interval, isolated from one another, and the
reminders delivered once each when two notifier processes run them."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.applications import service as applications
from backend.applications.schemas import ApplicationCreate
from backend.billing import service as billing
from backend.billing.schemas import BillCreate
from backend.billing.tariff import Tariff
from backend.core import clock
from backend.core.config import Settings
from backend.customers import service as customers
from backend.customers.schemas import CustomerCreate
from backend.notifications.channels import Senders
from backend.notifications.models import OutboxMessage
from backend.notifications.settings import NotifierSettings
from backend.notifications.worker import Notifier, Periodic, periodic_jobs
from backend.topology import service as topology
from backend.topology.schemas import FeederCreate, GridCellCreate, TransformerCreate
from tests.backend.conftest import TOKENS
from tests.backend.test_reminders import stage_in_warning
from tests.notifier.conftest import gateway_stats, wait_for


def test_each_periodic_job_keeps_its_interval_and_a_failing_one_stops_no_other(db) -> None:
    url, factory = db
    runs = {"broken": 0, "often": 0, "hourly": 0, "never": 0}

    def job(name: str):  # type: ignore[no-untyped-def]
        def run() -> None:
            runs[name] += 1
            if name == "broken":
                raise RuntimeError("database hiccup")

        return run

    every = {"broken": 0.05, "often": 0.05, "hourly": 3600, "never": 0}
    notifier = Notifier(
        factory,
        Senders(),
        NotifierSettings(database_url=url),
        periodic=[Periodic(name, seconds, job(name)) for name, seconds in every.items()],
    )
    try:
        notifier._run_periodic()
        time.sleep(0.1)
        notifier._run_periodic()
    finally:
        notifier._pool.shutdown()
    assert runs == {"broken": 2, "often": 2, "hourly": 1, "never": 0}


def test_every_domain_job_runs_at_the_interval_of_its_notifier_setting(db) -> None:
    """Each job of backend/scheduled.py names a real notifier setting and runs at its interval."""
    url, factory = db
    settings = NotifierSettings(database_url=url, notifier_sla_seconds=7, notifier_reminder_seconds=0)
    every = {job.name: job.every for job in periodic_jobs(settings, factory)}
    assert every == {
        "ticket_escalation": 30.0,
        "ticket_standards": 7.0,
        "application_stage_limits": 0.0,  # 0: never
        "arrears_reminders": 0.0,
        "outage_notice_lead": 7.0,
    }


def seed_reminders(factory: sessionmaker[Session], url: str) -> tuple[str, str]:
    """A customer with a bill just past its due date, and an application at risk; their dedup keys."""
    settings = Settings(database_url=url, **TOKENS)  # type: ignore[arg-type]
    today = clock.local_today()
    period = f"{today:%Y-%m}"
    while billing.due_date_of(period) >= today:
        period = billing.shift_period(period, -1)
    with factory() as session, session.begin():
        topology.create_feeder(session, FeederCreate(code="F1", name="F1线"))
        topology.create_grid_cell(session, GridCellCreate(code="C1", name="城关一网格"))
        topology.create_transformer(
            session, TransformerCreate(code="T1", name="T1台区", feeder_code="F1", grid_cell_code="C1")
        )
        customers.create_customer(
            session,
            CustomerCreate(
                account_no="1000000001",
                name="客户1",
                phone="13800000001",
                address="青山县城关镇人民路1号",
                customer_type="resident",
                area_type="urban",
                transformer_code="T1",
            ),
        )
        billing.issue_bill(session, Tariff(), BillCreate(account_no="1000000001", period=period, kwh=300))
        app = applications.create_application(
            session,
            settings,
            ApplicationCreate(
                applicant_name="青山县食品厂",
                type="residential",
                capacity_kva=20,
                address="青山县城关镇人民路9号",
                manager_name="周敏",
                manager_phone="13700001111",
            ),
        )
        session.flush()
        stage_in_warning(session, settings, app.application_no)
    return (
        f"bill:1000000001:{period}:arrears",
        f"sla:application_stage:{app.application_no}:accepted:warning:p:13700001111",
    )


def test_two_notifier_processes_send_each_reminder_once(db, sim, notifiers) -> None:
    url, factory = db
    keys = seed_reminders(factory, url)
    sms_before = gateway_stats(sim)["accepted"]
    for _ in range(2):
        notifiers.start(NOTIFIER_REMINDER_SECONDS="0.2", ARREARS_REMINDER_DAYS="31")

    def sent() -> set[str]:
        with factory() as session:
            query = select(OutboxMessage.dedup_key).where(
                OutboxMessage.dedup_key.in_(keys), OutboxMessage.status == "sent"
            )
            return set(session.scalars(query))

    wait_for(lambda: sent() == set(keys), 60, "the reminders sent")
    time.sleep(1.0)  # a few more runs of the job by both notifiers
    with factory() as session:
        reminders = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template.in_(("arrears_reminder", "sla_warning")))
        ).all()
    assert sorted(r.dedup_key for r in reminders) == sorted(keys), notifiers.logs()
    stats = gateway_stats(sim)
    assert (stats["accepted"] - sms_before, stats["duplicates"]) == (3, 0)  # the bill notice and both reminders
