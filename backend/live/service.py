"""What the dispatchers' live view shows, as one JSON document (`GET /api/v1/live/overview`).

A read model over the tickets, outages, workers, service-standard events and the outbox: a dozen
aggregate queries on indexed columns, kept for `REFRESH_SECONDS` per process so that any number of
dispatchers polling it during a storm cost one computation every two seconds. The usual rate of
reports (the storm indicator's baseline) is recomputed every ten minutes.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.customers.models import Customer
from backend.notifications.models import OutboxMessage
from backend.outages import service as outages
from backend.outages.models import Outage, OutageSubscription
from backend.sla.models import SlaEvent
from backend.tickets import state
from backend.tickets.models import Ticket
from backend.topology.models import GridCell, Transformer, Worker

REFRESH_SECONDS = 2.0
BASELINE_SECONDS = 600.0
BASELINE_DAYS = 7
#: a deadline this close is "about to break"
DUE_SOON = timedelta(minutes=30)
#: a storm: at least this many reports in the last minute, and this many times the usual rate
STORM_MIN_REPORTS = 10
STORM_RATIO = 5.0
LISTED = 50


class Overview:
    """The overview, computed at most every `REFRESH_SECONDS` by one thread at a time."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self._lock = threading.Lock()
        self._built_at = -1e9
        self._cached: dict[str, Any] = {}
        self._baseline_at = -1e9
        self._baseline = 0.0

    def get(self) -> dict[str, Any]:
        with self._lock:
            if time.monotonic() - self._built_at >= REFRESH_SECONDS:
                with self.factory() as session:
                    self._cached = self._build(session, clock.now())
                self._built_at = time.monotonic()
            return self._cached

    def _build(self, session: Session, now: datetime) -> dict[str, Any]:
        return {
            "at": now.astimezone(clock.LOCAL_ZONE).isoformat(),
            "tickets": _open_tickets(session),
            "outages": _outages(session, now),
            "deadlines": _deadlines(session, now),
            "workers": _workers(session),
            "storm": self._storm(session, now),
            "dead_letters": _dead_letters(session),
        }

    def _storm(self, session: Session, now: datetime) -> dict[str, Any]:
        if time.monotonic() - self._baseline_at >= BASELINE_SECONDS:
            since = now - timedelta(days=BASELINE_DAYS)
            self._baseline = _reports(session, since, now) / (BASELINE_DAYS * 24 * 60)
            self._baseline_at = time.monotonic()
        last_minute = _reports(session, now - timedelta(minutes=1), now)
        ratio = last_minute / self._baseline if self._baseline else None
        storm = last_minute >= STORM_MIN_REPORTS and (ratio is None or ratio >= STORM_RATIO)
        return {
            "reports_last_minute": last_minute,
            "usual_per_minute": round(self._baseline, 3),
            "ratio": round(ratio, 1) if ratio is not None else None,
            "storm": storm,
        }


def _reports(session: Session, since: datetime, until: datetime) -> int:
    """Repair reports in [since, until): the tickets they opened and the outages they were attached to."""
    tickets = session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.created_at >= since, Ticket.created_at < until, Ticket.kind.in_(("repair", "hazard"))
        )
    )
    attached = session.scalar(
        select(func.count(OutageSubscription.id)).where(
            OutageSubscription.created_at >= since, OutageSubscription.created_at < until
        )
    )
    return int(tickets or 0) + int(attached or 0)


_CELL = func.coalesce(Customer.grid_cell_id, Transformer.grid_cell_id, Worker.grid_cell_id)


def _open_tickets(session: Session) -> dict[str, Any]:
    rows = session.execute(
        select(Ticket.status, _CELL, func.count(Ticket.id))
        .outerjoin(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Transformer, Transformer.id == Customer.transformer_id)
        .outerjoin(Worker, Worker.id == Ticket.worker_id)
        .where(Ticket.status.in_(state.OPEN_STATUSES))
        .group_by(Ticket.status, _CELL)
    ).all()
    cells = {cell.id: cell for cell in session.scalars(select(GridCell))}
    by_status: dict[str, int] = dict.fromkeys(state.OPEN_STATUSES, 0)
    by_cell: dict[int | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(state.OPEN_STATUSES, 0))
    for status, cell_id, count in rows:
        by_status[status] += count
        by_cell[cell_id][status] += count
    return {
        "open": sum(by_status.values()),
        "by_status": by_status,
        "by_grid_cell": [
            {
                "code": cells[cell_id].code if cell_id in cells else None,
                "name": cells[cell_id].name if cell_id in cells else "待调度中心核实",
                "open": sum(counts.values()),
                "by_status": counts,
            }
            for cell_id, counts in sorted(by_cell.items(), key=lambda item: -sum(item[1].values()))
        ],
    }


def _outages(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Outages under way or suspected (announced ones whose start has passed count as under way)."""
    found = session.scalars(
        select(Outage)
        .where(
            or_(Outage.status.in_(("active", "suspected")), and_(Outage.status == "announced", Outage.starts_at <= now))
        )
        .order_by(Outage.starts_at)
        .limit(LISTED)
    )
    return [
        {
            "id": outage.id,
            "kind": outage.kind,
            "status": outages.effective_status(outage),
            "cause": outage.cause,
            "starts_at": outages.iso(outage.starts_at),
            "estimated_restore_at": outages.iso(outage.estimated_restore_at),
            "customers": outages.covered_count(session, outage.id),
        }
        for outage in found
    ]


def _deadlines(session: Session, now: datetime) -> dict[str, Any]:
    """Open tickets whose arrival or restoration deadline is within `DUE_SOON` or already passed, and
    the warnings and breaches of every standard in the last hour."""
    arrival = and_(Ticket.status.in_(("received", "dispatched", "accepted")), Ticket.arrival_deadline.is_not(None))
    restore = and_(Ticket.status == "arrived", Ticket.restore_deadline.is_not(None))

    def listed(condition: Any, deadline: Any, standard: str, soon: bool) -> list[dict[str, Any]]:
        window = and_(deadline > now, deadline <= now + DUE_SOON) if soon else deadline <= now
        rows = session.execute(
            select(Ticket.ticket_no, deadline, Worker.code, Worker.name)
            .outerjoin(Worker, Worker.id == Ticket.worker_id)
            .where(condition, window)
            .order_by(deadline)
            .limit(LISTED)
        ).all()
        return [
            {
                "standard": standard,
                "ticket_no": number,
                "deadline": outages.iso(at),
                "minutes_left": round((at - now).total_seconds() / 60, 1),
                "worker": {"code": code, "name": name} if code else None,
            }
            for number, at, code, name in rows
        ]

    def counted(condition: Any, deadline: Any, soon: bool) -> int:
        window = and_(deadline > now, deadline <= now + DUE_SOON) if soon else deadline <= now
        return int(session.scalar(select(func.count(Ticket.id)).where(condition, window)) or 0)

    recent = session.execute(
        select(SlaEvent.standard, SlaEvent.step, func.count(SlaEvent.id))
        .where(SlaEvent.at >= now - timedelta(hours=1))
        .group_by(SlaEvent.standard, SlaEvent.step)
    ).all()
    due = listed(arrival, Ticket.arrival_deadline, "arrival", True) + listed(
        restore, Ticket.restore_deadline, "restoration", True
    )
    broken = listed(arrival, Ticket.arrival_deadline, "arrival", False) + listed(
        restore, Ticket.restore_deadline, "restoration", False
    )
    return {
        "due_soon_count": counted(arrival, Ticket.arrival_deadline, True)
        + counted(restore, Ticket.restore_deadline, True),
        "broken_count": counted(arrival, Ticket.arrival_deadline, False)
        + counted(restore, Ticket.restore_deadline, False),
        "due_soon": sorted(due, key=lambda item: item["minutes_left"])[:LISTED],
        "broken": sorted(broken, key=lambda item: item["minutes_left"])[:LISTED],
        "last_hour": [{"standard": standard, "step": step, "count": count} for standard, step, count in recent],
    }


def _workers(session: Session) -> list[dict[str, Any]]:
    load = (
        select(Ticket.worker_id, func.count(Ticket.id).label("open"))
        .where(Ticket.status.in_(state.LOAD_STATUSES))
        .group_by(Ticket.worker_id)
        .subquery()
    )
    rows = session.execute(
        select(Worker, GridCell.code, func.coalesce(load.c.open, 0))
        .join(GridCell, GridCell.id == Worker.grid_cell_id)
        .outerjoin(load, load.c.worker_id == Worker.id)
        .where(Worker.on_duty.is_(True))
        .order_by(Worker.code)
    ).all()
    return [
        {
            "code": worker.code,
            "name": worker.name,
            "grid_cell_code": cell_code,
            "supervisor": worker.is_supervisor,
            "open_tasks": int(open_tasks),
            "capacity": worker.capacity,
            "load_pct": round(100 * open_tasks / worker.capacity, 1) if worker.capacity else None,
        }
        for worker, cell_code, open_tasks in rows
    ]


def _dead_letters(session: Session) -> dict[str, Any]:
    count = session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "dead"))
    latest = session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == "dead").order_by(OutboxMessage.id.desc()).limit(20)
    )
    return {
        "count": int(count or 0),
        "latest": [
            {
                "id": row.id,
                "template": row.template,
                "dedup_key": row.dedup_key,
                "recipient_key": row.recipient_key,
                "attempts": row.attempts,
                "last_error": row.last_error,
                "created_at": outages.iso(row.created_at),
            }
            for row in latest
        ],
    }
