"""Application service: numbers, stage moves with their push, and the time limits.

Each type of application goes through its own stages (`stages.py`: residential and low-voltage ones
skip design review and the mid-construction check), each stage with its limit in working days
(China's holidays and adjusted weekends counted, `core/workdays.py`). The whole process's limit is
the sum of its stages'. `check_stage_limits` is the periodic check (`scheduled.py`): the customer
manager is warned once 80 % of the current stage's time is used, the supervisors and duty
dispatchers are told at the breach, and the applicant gets a new estimate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.applications.models import OPEN, Application, ApplicationStage
from backend.applications.schemas import ApplicationCreate, ApplicationRead, Manager, StageRead
from backend.applications.stages import STAGE_LABELS, STAGE_SETS, TYPE_LABELS, next_stage, stage_days
from backend.core import clock
from backend.core.config import Settings
from backend.core.errors import Conflict, NotFound
from backend.core.sequence import next_number
from backend.core.workdays import WorkCalendar, work_calendar
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.notifications.outbox import enqueue
from backend.sla import service as sla
from backend.topology import service as topology

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """The time standards of applications as configured: stage limits, warning share, calendar."""

    days: dict[str, dict[str, int]]
    share: float
    calendar: WorkCalendar

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(stage_days(settings), settings.sla_warning_share, work_calendar(settings.working_calendar_file))

    def total(self, app_type: str) -> int:
        return sum(self.days[app_type].values())

    def stage_deadline(self, app_type: str, stage: str, entered_at: datetime) -> datetime:
        return self.calendar.add(entered_at, self.days[app_type][stage])


def verdict(app: Application, moment: datetime, limits: Limits) -> tuple[datetime, int, str]:
    """(deadline, working days used, state) of the whole process at `moment`: `late` past its
    deadline, `at_risk` once the warning share of its working days is used."""
    limit = limits.total(app.type)
    deadline = limits.calendar.add(app.submitted_at, limit)
    end = app.completed_at or moment
    used = limits.calendar.between(app.submitted_at, end)
    if end > deadline:
        return deadline, used, "late"
    if app.completed_at is None and used >= limit * limits.share:
        return deadline, used, "at_risk"
    return deadline, used, "on_time"


def create_application(session: Session, settings: Settings, data: ApplicationCreate) -> Application:
    customer = customers.get_customer(session, data.account_no) if data.account_no else None
    moment = clock.now()
    app = Application(
        application_no=next_number(session, "YK"),
        customer_id=customer.id if customer else None,
        applicant_name=data.applicant_name,
        type=data.type,
        capacity_kva=data.capacity_kva,
        address=data.address,
        stage=STAGE_SETS[data.type][0],
        submitted_at=moment,
        manager_name=data.manager_name,
        manager_phone=data.manager_phone,
    )
    session.add(app)
    session.flush()
    session.add(ApplicationStage(application_id=app.id, name=app.stage, entered_at=moment))
    _push_stage(session, settings, app, customer)
    session.flush()
    return app


def get_application(session: Session, application_no: str) -> Application:
    app = session.scalar(select(Application).where(Application.application_no == application_no))
    if app is None:
        raise NotFound(f"没有找到业扩申请 {application_no}，请核对申请编号", code="application_not_found")
    return app


def list_for_customer(session: Session, customer: Customer) -> list[Application]:
    query = select(Application).where(Application.customer_id == customer.id).order_by(Application.id.desc())
    return list(session.scalars(query))


def advance(session: Session, settings: Settings, application_no: str) -> Application:
    """Close the current stage and open the next; the last stage completes the application."""
    app = get_application(session, application_no)
    if app.completed_at is not None:
        raise Conflict("该申请已装表接电，流程已结束", code="illegal_transition")
    moment = clock.now()
    current = session.scalar(
        select(ApplicationStage).where(ApplicationStage.application_id == app.id, ApplicationStage.left_at.is_(None))
    )
    if current is not None:
        current.left_at = moment
    following = next_stage(app.type, app.stage)
    if following is None:
        app.completed_at = moment
    else:
        app.stage = following
        session.add(ApplicationStage(application_id=app.id, name=app.stage, entered_at=moment))
    customer = customers.customer_by_id(session, app.customer_id) if app.customer_id else None
    _push_stage(session, settings, app, customer)
    session.flush()
    return app


def _params(settings: Settings, app: Application, stage_entered_at: datetime | None = None) -> dict[str, Any]:
    """The push's values; `deadline` is the current stage's when its start is given, else the whole
    process's."""
    limits = Limits.of(settings)
    deadline, _, state = verdict(app, clock.now(), limits)
    if stage_entered_at is not None and app.completed_at is None:
        deadline = limits.stage_deadline(app.type, app.stage, stage_entered_at)
    return {
        "application_no": app.application_no,
        "applicant_name": app.applicant_name,
        "stage": app.stage,
        "stage_label": "已完成" if app.completed_at else STAGE_LABELS[app.stage],
        "deadline": clock.to_local(deadline).isoformat(),  # type: ignore[union-attr]
        "state": state,
        "manager_name": app.manager_name,
        "manager_phone": app.manager_phone,
    }


def _push_stage(session: Session, settings: Settings, app: Application, customer: Customer | None) -> None:
    if customer is None:
        return
    step = "completed" if app.completed_at else app.stage
    enqueue(
        session,
        dedup_key=f"application:{app.application_no}:{step}",
        template="application_stage_changed",
        params=_params(settings, app, None if app.completed_at else clock.now()),
        customer_id=customer.id,
    )


def check_stage_limits(session: Session, settings: Settings, *, now: datetime, after_id: int, limit: int) -> int | None:
    """One page of the periodic check of the current stage's limit of open applications (ids above
    `after_id`, up to `limit`); returns the last id looked at, None after the last page.

    The warning goes to the customer manager (WeCom when they are a registered worker, else SMS),
    as an `sla_warning` keyed per application and stage; the breach to the supervisors of the
    customer's grid cell and the duty dispatchers, and the applicant is told a new estimate.
    """
    limits = Limits.of(settings)
    rows = session.execute(
        select(Application, ApplicationStage.entered_at)
        .join(
            ApplicationStage,
            (ApplicationStage.application_id == Application.id)
            & (ApplicationStage.name == Application.stage)
            & ApplicationStage.left_at.is_(None),
        )
        .where(OPEN, Application.id > after_id)
        .order_by(Application.id)
        .limit(limit)
    ).all()
    # Only the stages whose warning is due are looked up further (manager, customer, cell).
    due = [
        (app, entered_at)
        for app, entered_at in rows
        if now >= sla.warning_at(entered_at, limits.stage_deadline(app.type, app.stage, entered_at), limits.share)
    ]
    promises = [_stage_promise(session, settings, limits, app, entered_at, now) for app, entered_at in due]
    sla.enforce(session, settings, promises, now=now)
    return rows[-1][0].id if len(rows) == limit else None


def _stage_promise(
    session: Session, settings: Settings, limits: Limits, app: Application, entered_at: datetime, now: datetime
) -> sla.Promise:
    days = limits.days[app.type][app.stage]
    manager = topology.find_worker_by_phone(session, app.manager_phone)
    customer = customers.customer_by_id(session, app.customer_id) if app.customer_id else None
    params = _params(settings, app, entered_at)
    return sla.Promise(
        standard="application_stage",
        subject=app.application_no,
        stage=app.stage,
        start=entered_at,
        deadline=limits.stage_deadline(app.type, app.stage, entered_at),
        params=params | {"number": app.application_no},
        grid_cell_id=customers.grid_cell_id_of(session, customer) if customer else None,
        responsible={"worker_id": manager.id} if manager else {"phone": app.manager_phone},
        responsible_name=app.manager_name,
        responsible_worker_id=manager.id if manager else None,
        customer={"customer_id": customer.id} if customer else None,
        customer_template="application_stage_delayed",
        customer_params=params,
        new_estimate=sla.new_estimate_working_days(settings, now, days),
    )


def read(session: Session, settings: Settings, app: Application) -> ApplicationRead:
    stages = session.scalars(
        select(ApplicationStage).where(ApplicationStage.application_id == app.id).order_by(ApplicationStage.id)
    )
    customer = customers.customer_by_id(session, app.customer_id) if app.customer_id else None
    limits = Limits.of(settings)
    deadline, used, state = verdict(app, clock.now(), limits)
    local = clock.to_local
    return ApplicationRead(
        application_no=app.application_no,
        applicant_name=app.applicant_name,
        account_no=customer.account_no if customer else None,
        type=app.type,  # type: ignore[arg-type]
        type_label=TYPE_LABELS[app.type],
        capacity_kva=app.capacity_kva,
        address=app.address,
        stage=app.stage,
        stage_label=STAGE_LABELS[app.stage],
        stages=[
            StageRead(
                name=s.name,
                label=STAGE_LABELS[s.name],
                entered_at=local(s.entered_at),  # type: ignore[arg-type]
                left_at=local(s.left_at),
                time_limit_days=limits.days[app.type][s.name],
                deadline=local(limits.stage_deadline(app.type, s.name, s.entered_at)),  # type: ignore[arg-type]
            )
            for s in stages
        ],
        submitted_at=local(app.submitted_at),  # type: ignore[arg-type]
        completed_at=local(app.completed_at),
        time_limit_days=limits.total(app.type),
        deadline=local(deadline),  # type: ignore[arg-type]
        working_days_used=used,
        state=state,  # type: ignore[arg-type]
        manager=Manager(name=app.manager_name, phone=app.manager_phone),
    )
