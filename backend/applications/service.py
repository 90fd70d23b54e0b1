"""Application service: numbers, stage moves with their push, and the time limit verdict.

Time limits are the utility side's whole process in working days (DESIGN service standards);
an open application is `at_risk` once `application_at_risk_share` (80 %) of its working days are
used, `late` past its deadline. The notifier's periodic job warns the customer manager of each
application at risk, once per stage (`warn_at_risk`).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal, or_, select
from sqlalchemy.orm import Session

from backend.applications.models import Application, ApplicationStage
from backend.applications.schemas import ApplicationCreate, ApplicationRead, Manager, StageRead
from backend.core import clock
from backend.core.config import Settings
from backend.core.errors import Conflict, NotFound
from backend.core.sequence import next_number
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.notifications.outbox import enqueue, enqueued
from backend.topology import service as topology

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


def verdict(app: Application, moment: datetime, at_risk_share: float) -> tuple[datetime, int, str]:
    """(deadline, working days used, state) of an application at `moment`; at risk from `at_risk_share`
    of the time limit's working days used."""
    limit = TIME_LIMIT_DAYS[app.type]
    deadline = clock.add_working_days(app.submitted_at, limit)
    end = app.completed_at or moment
    used = working_days_between(app.submitted_at, end)
    if end > deadline:
        return deadline, used, "late"
    if app.completed_at is None and used >= limit * at_risk_share:
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
        stage=STAGES[0],
        submitted_at=moment,
        manager_name=data.manager_name,
        manager_phone=data.manager_phone,
    )
    session.add(app)
    session.flush()
    session.add(ApplicationStage(application_id=app.id, name=STAGES[0], entered_at=moment))
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
    if app.stage == STAGES[-1]:
        app.completed_at = moment
    else:
        app.stage = STAGES[STAGES.index(app.stage) + 1]
        session.add(ApplicationStage(application_id=app.id, name=app.stage, entered_at=moment))
    customer = customers.customer_by_id(session, app.customer_id) if app.customer_id else None
    _push_stage(session, settings, app, customer)
    session.flush()
    return app


def _params(settings: Settings, app: Application) -> dict[str, Any]:
    deadline, _, state = verdict(app, clock.now(), settings.application_at_risk_share)
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
        params=_params(settings, app),
        customer_id=customer.id,
    )


def warn_at_risk(session: Session, settings: Settings, *, after_id: int, limit: int) -> int | None:
    """One page of the periodic check: an `application_at_risk` push to the customer manager of each
    open application at risk, once per application and stage (`application:<no>:at_risk:<stage>`).

    The manager hears on WeCom when they are a registered worker, else by SMS; non-urgent, so
    quiet hours hold it. Looks at up to `limit` open applications with ids above `after_id` that
    are old enough to be at risk and not yet warned in their stage; returns the last id looked at,
    None after the last page.
    """
    moment = clock.now()
    share = settings.application_at_risk_share
    # Using ceil(days · share) working days takes more than that many calendar days less one.
    min_days = {kind: math.ceil(days * share) - 1 for kind, days in TIME_LIMIT_DAYS.items()}
    old_enough = or_(
        *(
            (Application.type == kind) & (Application.submitted_at <= moment - timedelta(days=days))
            for kind, days in min_days.items()
        )
    )
    warned = enqueued(literal("application:") + Application.application_no + ":at_risk:" + Application.stage)
    page = session.scalars(
        select(Application)
        .where(Application.completed_at.is_(None), Application.id > after_id, old_enough, ~warned)
        .order_by(Application.id)
        .limit(limit)
    ).all()
    for app in page:
        params = _params(settings, app)
        if params["state"] != "at_risk":  # not yet (weekends), or already late
            continue
        manager = topology.find_worker_by_phone(session, app.manager_phone)
        enqueue(
            session,
            dedup_key=f"application:{app.application_no}:at_risk:{app.stage}",
            template="application_at_risk",
            params=params,
            **({"worker_id": manager.id} if manager else {"phone": app.manager_phone}),
        )
        logger.info("application %s at risk in stage %s: manager warned", app.application_no, app.stage)
    return page[-1].id if len(page) == limit else None


def read(session: Session, settings: Settings, app: Application) -> ApplicationRead:
    stages = session.scalars(
        select(ApplicationStage).where(ApplicationStage.application_id == app.id).order_by(ApplicationStage.id)
    )
    customer = customers.customer_by_id(session, app.customer_id) if app.customer_id else None
    deadline, used, state = verdict(app, clock.now(), settings.application_at_risk_share)
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
