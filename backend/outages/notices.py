"""The notice standard of announced outages: planned ones 7 days ahead, temporary ones 24 hours
(DESIGN "Service standards"; `OUTAGE_NOTICE_DAYS_PLANNED`, `OUTAGE_NOTICE_HOURS_TEMPORARY`).

An announced outage's notices fall due when the lead time begins (they are queued for that moment
when it is published). The standard is kept when every notice has gone out within
`OUTAGE_NOTICE_GRACE_MINUTES` of that: the duty dispatchers are warned when notices are still unsent
`SLA_WARNING_SHARE` of the way into the grace, and told of the breach at its end, or at once when the
outage was published too late for its lead time. Customers need no other message: the notice itself
is theirs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, literal, or_, select
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.notifications.outbox import unsent
from backend.outages.enums import OutageStatus
from backend.outages.models import Outage
from backend.outages.service import KIND_LABELS
from backend.sla import service as sla

#: after this long past its notices' due time an outage is no longer looked at
_LOOK_BACK = timedelta(days=1)


def notice_ahead(settings: Settings) -> dict[str, timedelta]:
    return {
        "planned": timedelta(days=settings.outage_notice_days_planned),
        "temporary": timedelta(hours=settings.outage_notice_hours_temporary),
    }


def check_notice_lead(session: Session, settings: Settings, *, now: datetime, after_id: int, limit: int) -> int | None:
    """One page: announced outages (ids above `after_id`, at most `limit`) whose notices fell due,
    within the last day or since a publication within the last day; returns the last id looked at,
    None after the last page."""
    ahead = notice_ahead(settings)
    grace = timedelta(minutes=settings.outage_notice_grace_minutes)
    due_recently = or_(
        *(
            and_(
                Outage.kind == kind,
                Outage.starts_at <= now + lead,
                or_(Outage.starts_at > now + lead - _LOOK_BACK - grace, Outage.created_at > now - _LOOK_BACK),
            )
            for kind, lead in ahead.items()
        )
    )
    page = list(
        session.scalars(
            select(Outage)
            .where(
                Outage.id > after_id,
                Outage.status == OutageStatus.announced.value,
                due_recently,
                sla.not_breached("outage_notice", literal("outage:") + cast(Outage.id, String)),
            )
            .order_by(Outage.id)
            .limit(limit)
        )
    )
    promises = []
    for outage in page:
        due = outage.starts_at - ahead[outage.kind]
        late = outage.created_at > due + grace
        if not late and unsent(session, dedup_prefix=f"outage:{outage.id}:notice:") == 0:
            continue  # every notice went out
        start, deadline = (due, due) if late else (due, due + grace)
        promises.append(
            sla.Promise(
                standard="outage_notice",
                subject=f"outage:{outage.id}",
                start=start,
                deadline=deadline,
                params={"kind_label": KIND_LABELS[outage.kind], "cause": outage.cause},
            )
        )
    sla.enforce(session, settings, promises, now=now)
    return page[-1].id if len(page) == limit else None
