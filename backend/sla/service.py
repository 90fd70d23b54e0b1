"""Enforcing a service standard on one promise: warn before the breach, escalate at it, tell the customer.

A domain's periodic check (its `scheduled.py`) hands over the promises it keeps (`Promise`: what,
for whom, from when, until when, who answers for it); `enforce` decides for each whether its warning
or its breach is due and fires it once:

- the **warning**, once `SLA_WARNING_SHARE` (80 %) of the time from start to deadline has passed, to
  the person responsible (a worker by WeCom, else a phone by SMS), or to the duty dispatchers when
  nobody is named;
- the **breach**, at the deadline with the promise still open, to the supervisors of the grid cell
  and the duty dispatchers (`DUTY_DISPATCHER_WECOM_IDS`), and to the customer, with a new estimate,
  when the promise was theirs;
- each recorded as an `SlaEvent` (unique per standard, subject, stage and step) in the same
  transaction as its pushes (whose dedup keys are unique too): several notifiers running the same
  check fire each once, and the reports count the breaches.

A warning whose moment passed while no check ran still goes out, unless the deadline has passed too:
then only the breach does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, exists, insert, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.core.config import Settings
from backend.core.workdays import work_calendar
from backend.notifications.outbox import enqueue, recipient_key
from backend.sla.models import SlaEvent
from backend.topology import service as topology

logger = logging.getLogger(__name__)

STANDARDS = (
    "arrival",
    "restoration",
    "complaint_contact",
    "complaint_answer",
    "application_stage",
    "outage_notice",
)
WARNING, BREACH = "warning", "breach"
_INSERT = insert(cast(Table, SlaEvent.__table__))


@dataclass(frozen=True)
class Promise:
    """One promise kept under a standard, as a domain's check hands it over."""

    standard: str
    subject: str  # QX…, YK…, outage:<id>
    start: datetime
    deadline: datetime
    #: template params of the warning and breach texts (`number`, and `stage_label`, `cause`… as the
    #: standard's wording needs them)
    params: dict[str, Any]
    stage: str = ""
    grid_cell_id: int | None = None
    #: who answers for it: {"worker_id": …} or {"phone": …}; None: the duty dispatchers
    responsible: dict[str, Any] | None = None
    responsible_name: str = "调度中心"
    responsible_worker_id: int | None = None
    #: the customer told at the breach: recipient fields, template and its params (a new estimate is added)
    customer: dict[str, Any] | None = None
    customer_template: str | None = None
    customer_params: dict[str, Any] = field(default_factory=dict)
    #: the new estimate given to the customer at the breach
    new_estimate: datetime | None = None
    #: minutes matter (repairs): the warning ignores quiet hours
    urgent: bool = False


def warning_at(start: datetime, deadline: datetime, share: float) -> datetime:
    return start + (deadline - start) * share


def new_estimate_after(now: datetime, duration: timedelta, share: float) -> datetime:
    """A new estimate `share` of the standard's `duration` from now, rounded up to five minutes."""
    moment = now + duration * share
    seconds = math.ceil(moment.timestamp() / 300) * 300
    return datetime.fromtimestamp(seconds, tz=now.tzinfo)


def new_estimate_working_days(settings: Settings, now: datetime, days: int) -> datetime:
    """A new estimate `SLA_NEW_ESTIMATE_SHARE` of a standard of `days` working days from now."""
    extra = max(1, math.ceil(days * settings.sla_new_estimate_share))
    return work_calendar(settings.working_calendar_file).add(now, extra)


def not_breached(standard: str, subject: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """SQL: no breach recorded yet for `subject` (a column) under `standard`, for a check's query."""
    return ~exists().where(SlaEvent.standard == standard, SlaEvent.subject == subject, SlaEvent.step == BREACH)


def enforce(
    session: Session, settings: Settings, promises: Sequence[Promise], *, now: datetime
) -> list[tuple[Promise, str]]:
    """Fire the warnings and breaches of `promises` that are due at `now` and not fired yet; returns
    what fired (the promise and the step). Raises IntegrityError when a concurrent check fired one
    first (its page is rolled back by the caller, `run_in_pages`)."""
    if not promises:
        return []
    keys = {(p.standard, p.subject, p.stage) for p in promises}
    fired_before = session.execute(
        select(SlaEvent.standard, SlaEvent.subject, SlaEvent.stage, SlaEvent.step).where(
            tuple_(SlaEvent.standard, SlaEvent.subject, SlaEvent.stage).in_(keys)
        )
    )
    done = {tuple(row) for row in fired_before}
    fired: list[tuple[Promise, str]] = []
    for promise in promises:
        standard, subject, stage = promise.standard, promise.subject, promise.stage
        if (standard, subject, stage, BREACH) in done:
            continue
        if now >= promise.deadline:
            _breach(session, settings, promise, now)
            fired.append((promise, BREACH))
            continue
        warned = (standard, subject, stage, WARNING) in done
        if not warned and now >= warning_at(promise.start, promise.deadline, settings.sla_warning_share):
            _warn(session, settings, promise, now)
            fired.append((promise, WARNING))
    return fired


def _record(session: Session, promise: Promise, step: str, now: datetime) -> None:
    session.execute(
        _INSERT,
        {
            "standard": promise.standard,
            "subject": promise.subject,
            "stage": promise.stage,
            "step": step,
            "deadline": promise.deadline,
            "at": now,
            "grid_cell_id": promise.grid_cell_id,
            "worker_id": promise.responsible_worker_id,
        },
    )


def _dedup(promise: Promise, step: str) -> str:
    stage = f":{promise.stage}" if promise.stage else ""
    return f"sla:{promise.standard}:{promise.subject}{stage}:{step}"


def _params(promise: Promise) -> dict[str, Any]:
    return promise.params | {
        "standard": promise.standard,
        "deadline": promise.deadline.isoformat(),
        "responsible": promise.responsible_name,
    }


def _warn(session: Session, settings: Settings, promise: Promise, now: datetime) -> None:
    _record(session, promise, WARNING, now)
    targets = [promise.responsible] if promise.responsible else _dispatchers(settings)
    for target in targets:
        enqueue(
            session,
            dedup_key=f"{_dedup(promise, WARNING)}:{_who(target)}",
            template="sla_warning",
            params=_params(promise),
            urgent=promise.urgent,
            **target,
        )
    logger.info("%s of %s: warning to %s recipient(s)", promise.standard, promise.subject, len(targets))


def _breach(session: Session, settings: Settings, promise: Promise, now: datetime) -> None:
    _record(session, promise, BREACH, now)
    targets = _supervisors(session, promise) + _dispatchers(settings)
    for target in targets:
        enqueue(
            session,
            dedup_key=f"{_dedup(promise, BREACH)}:{_who(target)}",
            template="sla_breached",
            params=_params(promise),
            urgent=True,
            **target,
        )
    if promise.customer and promise.customer_template:
        params = promise.customer_params | {
            "deadline": promise.deadline.isoformat(),
            "new_estimate": promise.new_estimate.isoformat() if promise.new_estimate else None,
        }
        enqueue(
            session,
            dedup_key=f"{_dedup(promise, BREACH)}:customer",
            template=promise.customer_template,
            params=params,
            urgent=promise.urgent,
            **promise.customer,
        )
    if not targets:
        logger.warning("%s of %s breached, nobody to escalate to: set DUTY_DISPATCHER_WECOM_IDS", *_name(promise))
    logger.warning("%s of %s breached: escalated to %s recipient(s)", *_name(promise), len(targets))


def _name(promise: Promise) -> tuple[str, str]:
    return promise.standard, promise.subject + (f" ({promise.stage})" if promise.stage else "")


def _supervisors(session: Session, promise: Promise) -> list[dict[str, Any]]:
    if promise.grid_cell_id is None:
        return []
    return [
        {"worker_id": w.id}
        for w in topology.workers_of_cell(session, promise.grid_cell_id, on_duty_only=False)
        if w.is_supervisor and w.id != promise.responsible_worker_id
    ]


def _dispatchers(settings: Settings) -> list[dict[str, Any]]:
    return [{"wecom_user_id": user_id} for user_id in settings.duty_dispatcher_wecom_ids]


def _who(target: dict[str, Any]) -> str:
    return recipient_key(**target)
