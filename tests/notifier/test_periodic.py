"""The notifier's periodic jobs: each at its own interval, isolated from one another; the reminders,
the outage lifecycle and the device-event sweep each delivered once when two notifier processes run
them."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

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
from backend.devices.models import DeviceEvent
from backend.notifications.channels import Senders
from backend.notifications.models import OutboxMessage
from backend.notifications.settings import NotifierSettings
from backend.notifications.worker import Notifier, Periodic, periodic_jobs
from backend.outages import service as outages
from backend.outages.models import Outage
from backend.outages.schemas import OutageCreate
from backend.topology import service as topology
from backend.topology.schemas import FeederCreate, GridCellCreate, TransformerCreate
from tests.backend.conftest import TOKENS
from tests.backend.test_reminders import every_day_worked, stage_in_warning
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
    settings = NotifierSettings(
        database_url=url,
        notifier_sla_seconds=7,
        notifier_reminder_seconds=0,
        notifier_handoff_alert_seconds=11,
        notifier_outage_lifecycle_seconds=13,
        notifier_device_event_seconds=3,
    )
    every = {job.name: job.every for job in periodic_jobs(settings, factory)}
    assert every == {
        "ticket_escalation": 30.0,
        "ticket_standards": 7.0,
        "application_stage_limits": 0.0,  # 0: never
        "arrears_reminders": 0.0,
        "outage_notice_lead": 7.0,
        "handoff_wait_alerts": 11.0,
        "outage_lifecycle": 13.0,
        "device_events": 3.0,
    }


def seed_reminders(factory: sessionmaker[Session], url: str, calendar: Path) -> tuple[str, str]:
    """A customer with a bill just past its due date, and an application at risk (counted with the
    holiday table `calendar`, as the notifiers must count); their dedup keys."""
    settings = Settings(database_url=url, working_calendar_file=calendar, **TOKENS)  # type: ignore[arg-type]
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


def test_two_notifier_processes_send_each_reminder_once(db, sim, notifiers, tmp_path: Path) -> None:
    url, factory = db
    calendar = every_day_worked(tmp_path)
    keys = seed_reminders(factory, url, calendar)
    sms_before = gateway_stats(sim)["accepted"]
    for _ in range(2):
        notifiers.start(
            NOTIFIER_REMINDER_SECONDS="0.2", ARREARS_REMINDER_DAYS="31", WORKING_CALENDAR_FILE=str(calendar)
        )

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


def test_two_notifier_processes_start_an_outage_at_its_time_and_apply_a_device_event_once(
    db, sim, notifiers, tmp_path: Path
) -> None:
    """The lifecycle and device-event jobs in two real notifier processes: an announced outage
    starting in two seconds becomes active and its customer gets the 停电开始 SMS once; a device event
    the backend stored is applied by one of them: the transformer's suspected fault, its customer
    told once before asking."""
    url, factory = db
    seed_reminders(factory, url, every_day_worked(tmp_path))  # the topology: F1, C1, T1 and customer 1000000001
    with factory() as session, session.begin():
        topology.create_transformer(
            session, TransformerCreate(code="T2", name="T2台区", feeder_code="F1", grid_cell_code="C1")
        )
        customers.create_customer(
            session,
            CustomerCreate(account_no="1000000002", name="客户2", phone="13800000002", address="青山县城关镇人民路2号",
                           customer_type="resident", area_type="urban", transformer_code="T2"),
        )  # fmt: skip
        starts = clock.now() + timedelta(seconds=2)
        outage = outages.create_outage(
            session,
            OutageCreate(kind="planned", cause="10kV线路检修", starts_at=starts,
                         estimated_restore_at=starts + timedelta(hours=4), transformer_codes=["T1"]),
        )  # fmt: skip
        session.add(DeviceEvent(event_id="da-1", kind="power_lost", scope="transformer", code="T2",
                                occurred_at=clock.now() - timedelta(seconds=30), received_at=clock.now(),
                                status="pending"))  # fmt: skip
    for _ in range(2):
        notifiers.start(NOTIFIER_OUTAGE_LIFECYCLE_SECONDS="0.2", NOTIFIER_DEVICE_EVENT_SECONDS="0.2")

    def sent(template: str) -> list[OutboxMessage]:
        with factory() as session:
            query = select(OutboxMessage).where(OutboxMessage.template == template, OutboxMessage.status == "sent")
            return list(session.scalars(query))

    wait_for(lambda: len(sent("outage_detected")) == 1, 60, "the device event applied and its notice sent")
    wait_for(lambda: len(sent("outage_planned_started")) == 1, 60, "the outage started and its notice sent")
    time.sleep(1.0)  # more runs of both jobs by both notifiers
    with factory() as session:
        assert session.get(Outage, outage.id).status == "active"  # type: ignore[union-attr]
        assert session.scalar(select(DeviceEvent.status)) == "applied"
        faults = session.scalars(select(Outage).where(Outage.source == "device")).all()
    assert [(f.status, f.kind) for f in faults] == [("suspected", "fault")], notifiers.logs()
    assert [m.template for m in sim.sms].count("outage_planned_started") == 1
    assert [m.template for m in sim.sms].count("outage_detected") == 1
    assert gateway_stats(sim)["duplicates"] == 0
