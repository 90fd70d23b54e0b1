"""What the dispatchers' live view shows, as one JSON document (`GET /api/v1/live/overview`, and the
console's `live` topic).

A read model over the tickets, outages, topology, workers, service-standard events and the outbox:
a dozen aggregate queries on indexed columns, kept for `REFRESH_SECONDS` per process so that any
number of dispatchers watching it during a storm cost one computation every two seconds. The usual
rate of reports (the storm indicator's baseline) is recomputed every ten minutes.
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
from backend.notifications import failures
from backend.notifications.models import OutboxMessage
from backend.outages import service as outages
from backend.outages.models import Outage, OutageScope, OutageSubscription
from backend.sla.models import SlaEvent
from backend.tickets import state
from backend.tickets.models import Ticket
from backend.topology.models import Feeder, GridCell, Transformer, Worker

REFRESH_SECONDS = 2.0
BASELINE_SECONDS = 600.0
BASELINE_DAYS = 7
#: a deadline this close is "about to break"
DUE_SOON = timedelta(minutes=30)
#: a storm: at least this many reports in the last minute, and this many times the usual rate
STORM_MIN_REPORTS = 10
STORM_RATIO = 5.0
LISTED = 50
#: a transformer or feeder whose outage ended this recently is shown as restored
RESTORED_RECENTLY = timedelta(hours=2)
#: the grid schematic's states, worst first: an element takes the worst state of the outages on it
GRID_STATES = ("outage", "suspected", "restored", "normal")


class Overview:
    """The overview, computed at most every `REFRESH_SECONDS` by one thread at a time (`get`);
    `build` computes it at once."""

    def __init__(self, factory: sessionmaker[Session] | None = None) -> None:
        self.factory = factory
        self._lock = threading.Lock()
        self._built_at = -1e9
        self._cached: dict[str, Any] = {}
        self._baseline_at = -1e9
        self._baseline = 0.0
        #: how many times `get` computed the overview: moves whenever what it returns is new
        self.version = 0

    def get(self, session: Session | None = None) -> dict[str, Any]:
        """The overview, computed again (with `session`, or one of the factory's) when older than
        `REFRESH_SECONDS`; callers meanwhile wait for it rather than compute it too."""
        with self._lock:
            if time.monotonic() - self._built_at >= REFRESH_SECONDS:
                if session is not None:
                    self._cached = self.build(session, clock.now())
                else:
                    assert self.factory is not None, "an Overview without a session factory needs a session"
                    with self.factory() as own:
                        self._cached = self.build(own, clock.now())
                self._built_at = time.monotonic()
                self.version += 1
            return self._cached

    def build(self, session: Session, now: datetime) -> dict[str, Any]:
        return {
            "at": now.astimezone(clock.LOCAL_ZONE).isoformat(),
            "tickets": _open_tickets(session),
            "outages": _outages(session, now),
            "grid": _grid(session, now),
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
    ).all()
    places = _scope_names(session, [outage.id for outage in found])
    covered = outages.covered_counts(session, [outage.id for outage in found])
    return [
        {
            "id": outage.id,
            "kind": outage.kind,
            "status": outages.effective_status(outage),
            "source": outage.source,
            "cause": outage.cause,
            "starts_at": outages.iso(outage.starts_at),
            "estimated_restore_at": outages.iso(outage.estimated_restore_at),
            "customers": covered[outage.id],
            "fault_ticket_no": outage.fault_ticket_no,
            "feeders": places[outage.id]["feeders"],
            "transformers": places[outage.id]["transformers"],
        }
        for outage in found
    ]


def _scope_names(session: Session, outage_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """The names of the feeders and transformers each outage's scope names (customers alone are left out)."""
    named: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"feeders": [], "transformers": []})
    if not outage_ids:
        return named
    rows = session.execute(
        select(OutageScope.outage_id, Feeder.name, Transformer.name)
        .outerjoin(Feeder, Feeder.id == OutageScope.feeder_id)
        .outerjoin(Transformer, Transformer.id == OutageScope.transformer_id)
        .where(OutageScope.outage_id.in_(outage_ids))
        .order_by(OutageScope.id)
    ).all()
    for outage_id, feeder, transformer in rows:
        if feeder:
            named[outage_id]["feeders"].append(feeder)
        if transformer:
            named[outage_id]["transformers"].append(transformer)
    return named


def _grid(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Every feeder with its transformers, each in the worst state of the outages on it: `outage`
    (under way), `suspected` (研判 or a device, not yet confirmed), `restored` (within
    `RESTORED_RECENTLY`) or `normal`. An outage on a feeder puts all of its transformers in its state."""
    under_way = or_(Outage.status == "active", and_(Outage.status == "announced", Outage.starts_at <= now))
    recently = and_(Outage.status == "restored", Outage.restored_at >= now - RESTORED_RECENTLY)
    rows = session.execute(
        select(Outage.status, OutageScope.feeder_id, OutageScope.transformer_id)
        .join(OutageScope, OutageScope.outage_id == Outage.id)
        .where(or_(under_way, Outage.status == "suspected", recently))
        .where(or_(OutageScope.feeder_id.is_not(None), OutageScope.transformer_id.is_not(None)))
    ).all()
    rank = {name: n for n, name in enumerate(GRID_STATES)}
    feeder_state: dict[int, str] = {}
    transformer_state: dict[int, str] = {}

    def worse(states: dict[int, str], key: int, state: str) -> None:
        if rank[state] < rank[states.get(key, "normal")]:
            states[key] = state

    for status, feeder_id, transformer_id in rows:
        state = {"restored": "restored", "suspected": "suspected"}.get(status, "outage")
        if feeder_id is not None:
            worse(feeder_state, feeder_id, state)
        if transformer_id is not None:
            worse(transformer_state, transformer_id, state)
    feeders: dict[int, dict[str, Any]] = {
        feeder.id: {"code": feeder.code, "name": feeder.name, "state": feeder_state.get(feeder.id, "normal"),
                    "transformers": []}
        for feeder in session.scalars(select(Feeder).order_by(Feeder.code))
    }  # fmt: skip
    for transformer_id, code, name, feeder_id in session.execute(
        select(Transformer.id, Transformer.code, Transformer.name, Transformer.feeder_id).order_by(Transformer.code)
    ):
        feeder = feeders[feeder_id]
        state = transformer_state.get(transformer_id, "normal")
        if rank[feeder["state"]] < rank[state]:
            state = feeder["state"]
        feeder["transformers"].append({"code": code, "name": name, "state": state})
    return list(feeders.values())


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
        select(Worker, GridCell.code, GridCell.name, func.coalesce(load.c.open, 0))
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
            "grid_cell_name": cell_name,
            "supervisor": worker.is_supervisor,
            "open_tasks": int(open_tasks),
            "capacity": worker.capacity,
            "load_pct": round(100 * open_tasks / worker.capacity, 1) if worker.capacity else None,
        }
        for worker, cell_code, cell_name, open_tasks in rows
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
                "recipient": "customer" if row.customer_id else "worker" if row.worker_id else "staff",
                "attempts": row.attempts,
                "last_error": row.last_error,
                "reason": failures.reason(row.last_error),
                "created_at": outages.iso(row.created_at),
            }
            for row in latest
        ],
    }


#: the console's `live` topic (backend/console/topics.py): one Overview per process, shared by every
#: console the process serves, so that it is computed once every `REFRESH_SECONDS` however many
#: dispatchers watch it (their streams poll at the same time: the others wait for the one computing)
_console = Overview()


def console_state(session: Session, _settings: Any, _argument: str) -> dict[str, Any]:
    return _console.get(session)


def console_fingerprint(session: Session, _argument: str) -> int:
    """Which computation of the shared overview is current: it is computed again (here, by the first
    stream that asks) once `REFRESH_SECONDS` old, since a deadline comes due without any row changing."""
    _console.get(session)
    return _console.version
