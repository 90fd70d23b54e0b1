"""The hand-offs' periodic job, run by the notifier: customers waiting too long are reported to the
duty supervisor (WeCom).

Every run looks at the waiting customers past `handoff_wait_alert_minutes` not reported yet; if
there are any, each duty supervisor (signed in to the console now; all supervisors with a WeCom id
when none is) gets one message with the queue's state, and those customers are marked reported.
Several notifiers may run it at once: on PostgreSQL each takes the rows the others do not hold,
and the messages' dedup keys keep each single.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import Settings
from backend.core.db import skip_locked
from backend.core.scheduling import Job, in_one_transaction
from backend.handoffs import delivery, queue
from backend.handoffs.enums import HandoffStatus
from backend.handoffs.models import Handoff
from backend.staff import service as staff
from backend.staff.models import Staff
from backend.staff.roles import SUPERVISION_ROLES, StaffRole

logger = logging.getLogger(__name__)

BATCH = 200


def duty_supervisors(session: Session, settings: Settings) -> list[Staff]:
    """Supervisors with a WeCom id: those signed in now, else all of them."""
    on_duty = [s for s in staff.online(session, settings, roles=SUPERVISION_ROLES) if s.wecom_user_id]
    if on_duty:
        return on_duty
    everyone = staff.list_staff(session, roles=frozenset({StaffRole.supervisor}))
    return [s for s in everyone if s.active and s.wecom_user_id]


def alert_long_waits(session: Session, settings: Settings) -> int:
    """Report the customers newly past the threshold; returns how many were reported."""
    now = clock.now()
    threshold = now - timedelta(minutes=settings.handoff_wait_alert_minutes)
    query = (
        select(Handoff)
        .where(
            Handoff.status == HandoffStatus.waiting.value,
            Handoff.created_at <= threshold,
            Handoff.wait_alerted_at.is_(None),
        )
        .order_by(Handoff.id)
        .limit(BATCH)
    )
    newly = list(session.scalars(skip_locked(session, query)))
    if not newly:
        return 0
    supervisors = duty_supervisors(session, settings)
    if not supervisors:
        logger.warning("ALERT %s customers wait over %s minutes and no supervisor has a WeCom id", len(newly),
                       settings.handoff_wait_alert_minutes)  # fmt: skip
        return 0
    waiting = session.scalars(
        select(Handoff.created_at).where(Handoff.status == HandoffStatus.waiting.value, Handoff.created_at <= threshold)
    ).all()
    params = {
        "count": len(waiting),
        "minutes": settings.handoff_wait_alert_minutes,
        "longest": int((now - min(waiting)).total_seconds() // 60),
        "online": queue.capacity(session, settings).online,
    }
    for supervisor in supervisors:
        assert supervisor.wecom_user_id is not None
        delivery.wait_alert(session, first_id=newly[0].id, supervisor_wecom_id=supervisor.wecom_user_id, params=params)
    for handoff in newly:
        handoff.wait_alerted_at = now
    session.flush()
    logger.info("%s long waits reported to %s supervisor(s)", len(newly), len(supervisors))
    return len(newly)


JOBS = (Job("handoff_wait_alerts", "notifier_handoff_alert_seconds", in_one_transaction(alert_long_waits)),)
