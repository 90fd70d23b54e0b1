"""Application service: numbers, stage moves with their push, and the time limit verdict.

Time limits are the utility side's whole process in working days (DESIGN service standards);
an open application is `at_risk` once 80 % of its working days are used, `late` past its deadline.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.applications.models import Application, ApplicationStage
from backend.applications.schemas import ApplicationCreate, ApplicationRead, Manager, StageRead
from backend.core import clock
from backend.core.errors import Conflict, NotFound
from backend.core.sequence import next_number
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.notifications.outbox import enqueue

logger = logging.getLogger(__name__)

STAGES = (
    "accepted",
    "survey",
    "plan_reply",
    "design_review",
    "midway_check",
    "completion_check",
    "connected",
)
STAGE_LABELS = {
    "accepted": "受理",
    "survey": "现场勘查",
    "plan_reply": "供电方案答复",
    "design_review": "设计审查",
    "midway_check": "中间检查",
    "completion_check": "竣工检验",
    "connected": "装表接电",
}
TIME_LIMIT_DAYS = {"residential": 5, "low_voltage": 6, "high_voltage_single": 22, "high_voltage_dual": 32}
TYPE_LABELS = {
    "residential": "居民新装",
    "low_voltage": "低压非居民",
    "high_voltage_single": "高压单电源",
    "high_voltage_dual": "高压双电源",
}
AT_RISK_SHARE = 0.8


def working_days_between(start: datetime, end: datetime) -> int:
    """Whole working days (Monday to Friday) from `start` to `end`, local time."""
    first = start.astimezone(clock.LOCAL_ZONE).date()
    last = end.astimezone(clock.LOCAL_ZONE).date()
    days = 0
    current = first
    while current < last:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days += 1
    return days


def verdict(app: Application, moment: datetime) -> tuple[datetime, int, str]:
    """(deadline, working days used, state) of an application at `moment`."""
    limit = TIME_LIMIT_DAYS[app.type]
    deadline = clock.add_working_days(app.submitted_at, limit)
    end = app.completed_at or moment
    used = working_days_between(app.submitted_at, end)
    if end > deadline:
        return deadline, used, "late"
    if app.completed_at is None and used >= limit * AT_RISK_SHARE:
        return deadline, used, "at_risk"
    return deadline, used, "on_time"


def create_application(session: Session, data: ApplicationCreate) -> Application:
    customer = customers.get_customer(session, data.account_no) if data.account_no else None
    moment = clock.now()
    app = Application(
        application_no=next_number(session, "YK"),
        customer_id=customer.id if customer else None,
        applicant_name=data.applicant_name,
        type=data.type,
        capacity_kva=data.capacity_kva,
        address=data.address,
        stage=STAGES[0],
        submitted_at=moment,
        manager_name=data.manager_name,
        manager_phone=data.manager_phone,
    )
    session.add(app)
    session.flush()
    session.add(ApplicationStage(application_id=app.id, name=STAGES[0], entered_at=moment))
    _push_stage(session, app, customer)
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


def advance(session: Session, application_no: str) -> Application:
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
    if app.stage == STAGES[-1]:
        app.completed_at = moment
    else:
        app.stage = STAGES[STAGES.index(app.stage) + 1]
        session.add(ApplicationStage(application_id=app.id, name=app.stage, entered_at=moment))
    customer = customers.customer_by_id(session, app.customer_id) if app.customer_id else None
    _push_stage(session, app, customer)
    session.flush()
    return app


def _push_stage(session: Session, app: Application, customer: Customer | None) -> None:
    if customer is None:
        return
    deadline, _, state = verdict(app, clock.now())
    params = {
        "application_no": app.application_no,
        "applicant_name": app.applicant_name,
        "stage": app.stage,
        "stage_label": "已完成" if app.completed_at else STAGE_LABELS[app.stage],
        "deadline": clock.to_local(deadline).isoformat(),  # type: ignore[union-attr]
        "state": state,
        "manager_name": app.manager_name,
        "manager_phone": app.manager_phone,
    }
    step = "completed" if app.completed_at else app.stage
    enqueue(
        session,
        dedup_key=f"application:{app.application_no}:{step}",
        template="application_stage_changed",
        params=params,
        customer_id=customer.id,
    )


def read(session: Session, app: Application) -> ApplicationRead:
    stages = session.scalars(
        select(ApplicationStage).where(ApplicationStage.application_id == app.id).order_by(ApplicationStage.id)
    )
    customer = customers.customer_by_id(session, app.customer_id) if app.customer_id else None
    deadline, used, state = verdict(app, clock.now())
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
            )
            for s in stages
        ],
        submitted_at=local(app.submitted_at),  # type: ignore[arg-type]
        completed_at=local(app.completed_at),
        time_limit_days=TIME_LIMIT_DAYS[app.type],
        deadline=local(deadline),  # type: ignore[arg-type]
        working_days_used=used,
        state=state,  # type: ignore[arg-type]
        manager=Manager(name=app.manager_name, phone=app.manager_phone),
    )
