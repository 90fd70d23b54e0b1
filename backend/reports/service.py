"""The command centre's figures for a period (日监控、周通报、月考评), per county, grid cell and worker.

A read model: it reads the domains' tables directly, read-only, a few aggregate queries per period
(docs/adr/0010-service-standards.md says why). What each figure means:

- `received`: repair and hazard tickets opened in the period; `merged`: those since merged into a
  fault ticket (the `merged` status, when it exists); complaints are counted apart.
- arrival: a ticket is measured once its worker arrived or its arrival deadline passed; on time when
  the worker arrived by the deadline. `avg_arrival_minutes`: from dispatch to arrival.
- restoration: measured once resolved or past its restoration deadline; on time when resolved by it.
  `avg_restoration_minutes`: from arrival to resolution.
- `repeat_outage_customers` (频繁停电): customers with three or more outages in the two months up to
  the period's end: outage-pool entries that covered them (not cancelled) and their own repair
  tickets not attached to one.
- `complaints_per_10k`: complaints opened in the period per 10,000 customers of the unit, with their
  topics (jieba keywords of the complaints' texts).
- satisfaction: the ratings of the period's tickets, average and count.
- `breaches`: service-standard breaches recorded in the period (`sla_event`), by standard.
- 业扩: stages finished in the period, on time when finished within the stage's limit.
- pushes: created in the period, sent per channel, dead (failed for good) and still pending.
- conversations: see `conversation_figures`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, func, select, union_all
from sqlalchemy.orm import Session

from backend.applications.models import Application, ApplicationStage
from backend.applications.service import Limits
from backend.applications.stages import STAGE_LABELS, STAGES
from backend.conversations import service as conversations
from backend.core import clock
from backend.core.config import ROOT, Settings
from backend.customers.models import Customer
from backend.handoffs.models import Handoff
from backend.notifications.models import OutboxMessage
from backend.outages.models import Outage, OutageScope
from backend.reports.periods import Period
from backend.sla.models import SlaEvent
from backend.sla.service import STANDARDS
from backend.tickets.models import Ticket, TicketEvent
from backend.tickets.service import CHAT_CHANNELS
from backend.topology.models import GridCell, Transformer, Worker

logger = logging.getLogger(__name__)

REPAIR_KINDS = ("repair", "hazard", "fault")
REPEAT_OUTAGES = 3
REPEAT_WINDOW = timedelta(days=61)  # two months
UNKNOWN_COUNTY = "未划分县域"
TOPICS = 5


@dataclass
class Tally:
    """Counters of one unit (the whole, a county, a cell or a worker), turned into figures by `read`."""

    received: int = 0
    merged: int = 0
    arrival_measured: int = 0
    arrival_on_time: int = 0
    arrival_minutes: list[float] = field(default_factory=list)
    restoration_measured: int = 0
    restoration_on_time: int = 0
    restoration_minutes: list[float] = field(default_factory=list)
    complaints: int = 0
    complaint_texts: list[str] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)
    customers: int = 0
    repeat_outage_customers: int = 0
    breaches: Counter[str] = field(default_factory=Counter)
    stages_finished: int = 0
    stages_on_time: int = 0

    def read(self, *, per_customers: bool = True) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "received": self.received,
            "merged": self.merged,
            "arrival_measured": self.arrival_measured,
            "arrival_on_time": self.arrival_on_time,
            "arrival_on_time_pct": _pct(self.arrival_on_time, self.arrival_measured),
            "avg_arrival_minutes": _mean(self.arrival_minutes),
            "restoration_measured": self.restoration_measured,
            "restoration_on_time": self.restoration_on_time,
            "restoration_on_time_pct": _pct(self.restoration_on_time, self.restoration_measured),
            "avg_restoration_minutes": _mean(self.restoration_minutes),
            "complaints": self.complaints,
            "satisfaction_avg": _mean(self.ratings, 2),
            "satisfaction_count": len(self.ratings),
            "breaches": {standard: self.breaches.get(standard, 0) for standard in STANDARDS},
        }
        if per_customers:
            figures |= {
                "application_stages_finished": self.stages_finished,
                "application_stages_on_time_pct": _pct(self.stages_on_time, self.stages_finished),
                "customers": self.customers,
                "complaints_per_10k": round(self.complaints * 10_000 / self.customers, 2) if self.customers else None,
                "complaint_topics": topics(self.complaint_texts),
                "repeat_outage_customers": self.repeat_outage_customers,
            }
        return figures


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _mean(values: list[float] | list[int], digits: int = 1) -> float | None:
    return round(sum(values) / len(values), digits) if values else None


@lru_cache
def _jieba() -> Any:
    """jieba with the project's domain dictionary, loaded once per process (about 1.5 s)."""
    import jieba
    import jieba.analyse

    jieba.setLogLevel(logging.WARNING)
    userdict = ROOT / "data" / "nlu" / "jieba" / "userdict.txt"
    if userdict.exists():
        jieba.load_userdict(str(userdict))
    return jieba.analyse


def topics(texts: list[str]) -> list[str]:
    """The complaints' main keywords (TF-IDF over jieba's words), most telling first."""
    if not texts:
        return []
    words: list[str] = _jieba().extract_tags("\n".join(texts), topK=TOPICS)
    return words


@dataclass
class Units:
    """Who belongs where: cells with their county, workers with their cell."""

    cells: dict[int, GridCell]
    workers: dict[int, Worker]

    def county(self, cell_id: int | None) -> str:
        cell = self.cells.get(cell_id) if cell_id is not None else None
        return (cell.county if cell else None) or UNKNOWN_COUNTY


def build(session: Session, settings: Settings, period: Period) -> dict[str, Any]:
    """The report of `period`: figures for the whole, each county, grid cell and worker, and the
    service-wide ones (业扩 stages, pushes, conversations)."""
    started = time.perf_counter()
    start, end = period.start, min(period.end, clock.now())
    units = Units(
        {cell.id: cell for cell in session.scalars(select(GridCell))},
        {worker.id: worker for worker in session.scalars(select(Worker))},
    )
    whole = Tally()
    counties: dict[str, Tally] = defaultdict(Tally)
    cells: dict[int, Tally] = defaultdict(Tally)
    workers: dict[int, Tally] = defaultdict(Tally)

    def tallies(cell_id: int | None, worker_id: int | None = None) -> Iterable[Tally]:
        yield whole
        yield counties[units.county(cell_id)]
        if cell_id is not None:
            yield cells[cell_id]
        if worker_id is not None:
            yield workers[worker_id]

    _tickets(session, start, period.end, end, tallies)
    _customers(session, units, whole, counties, cells, end)
    for standard, cell_id, worker_id in session.execute(
        select(SlaEvent.standard, SlaEvent.grid_cell_id, SlaEvent.worker_id).where(
            SlaEvent.step == "breach", SlaEvent.at >= start, SlaEvent.at < period.end
        )
    ):
        for tally in tallies(cell_id, worker_id):
            tally.breaches[standard] += 1
    stages = _applications(session, settings, start, period.end, tallies)
    report: dict[str, Any] = {
        "period": {
            "kind": period.kind,
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "complete": period.end <= clock.now(),
        },
        "generated_at": clock.now().astimezone(clock.LOCAL_ZONE).isoformat(),
        "overall": whole.read(),
        "counties": [{"county": name} | tally.read() for name, tally in sorted(counties.items())],
        "grid_cells": [
            {"code": units.cells[cell_id].code, "name": units.cells[cell_id].name, "county": units.county(cell_id)}
            | cells[cell_id].read()
            for cell_id in sorted(units.cells, key=lambda i: units.cells[i].code)
        ],
        "workers": [
            {
                "code": worker.code,
                "name": worker.name,
                "grid_cell_code": units.cells[worker.grid_cell_id].code,
            }
            | workers[worker.id].read(per_customers=False)
            for worker in sorted(units.workers.values(), key=lambda w: w.code)
            if worker.id in workers
        ],
        "applications": stages,
        "pushes": _pushes(session, start, period.end),
        "conversations": conversation_figures(session, start, period.end),
    }
    if period.kind in ("weekly", "monthly"):  # 周通报 and 月考评 rank the cells and the workers
        report["rankings"] = {
            "grid_cells": [row["code"] for row in ranked(report["grid_cells"])],
            "workers": [row["code"] for row in ranked(report["workers"])],
        }
    logger.info("report %s built in %.2f s", period.label, time.perf_counter() - started)
    return report


def ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Units best first: by arrival on time, then restoration on time, then satisfaction, then fewer
    complaints per 10,000 customers (a unit without a figure comes after those with one)."""

    def score(row: dict[str, Any]) -> tuple[float, float, float, float]:
        def value(key: str) -> float:
            number = row.get(key)
            return -1.0 if number is None else float(number)

        per_10k = row.get("complaints_per_10k")
        return (value("arrival_on_time_pct"), value("restoration_on_time_pct"), value("satisfaction_avg"),
                -(per_10k or 0.0))  # fmt: skip

    return sorted(rows, key=score, reverse=True)


def _tickets(session: Session, start: datetime, until: datetime, now: datetime, tallies: Any) -> None:
    """Tickets opened in [start, until), measured at `now`."""
    in_period = and_(Ticket.created_at >= start, Ticket.created_at < until)
    moments: dict[int, dict[str, datetime]] = defaultdict(dict)
    for ticket_id, kind, at in session.execute(
        select(TicketEvent.ticket_id, TicketEvent.type, func.min(TicketEvent.at))
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(in_period, TicketEvent.type.in_(("arrived", "resolved")))
        .group_by(TicketEvent.ticket_id, TicketEvent.type)
    ):
        moments[ticket_id][kind] = at
    cell_of = func.coalesce(Customer.grid_cell_id, Transformer.grid_cell_id, Worker.grid_cell_id)
    query = (
        select(
            Ticket.id,
            Ticket.kind,
            Ticket.status,
            Ticket.worker_id,
            cell_of,
            Ticket.created_at,
            Ticket.dispatched_at,
            Ticket.arrival_deadline,
            Ticket.restore_deadline,
            Ticket.rating,
            Ticket.description,
        )
        .outerjoin(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Transformer, Transformer.id == Customer.transformer_id)
        .outerjoin(Worker, Worker.id == Ticket.worker_id)
        .where(in_period)
    )
    for row in session.execute(query):
        ticket_id, kind, status, worker_id, cell_id, created, dispatched, arrival_by, restore_by, rating, text = row
        complaint = kind == "complaint"
        seen = moments.get(ticket_id, {})
        arrived, resolved = seen.get("arrived"), seen.get("resolved")
        for tally in tallies(cell_id, None if complaint else worker_id):
            if rating is not None:
                tally.ratings.append(rating)
            if complaint:
                tally.complaints += 1
                tally.complaint_texts.append(text)
                continue
            tally.received += 1
            tally.merged += status == "merged"
            if arrival_by is not None and (arrived is not None or arrival_by <= now):
                tally.arrival_measured += 1
                tally.arrival_on_time += arrived is not None and arrived <= arrival_by
            if arrived is not None:
                tally.arrival_minutes.append((arrived - (dispatched or created)).total_seconds() / 60)
            if restore_by is not None and arrived is not None and (resolved is not None or restore_by <= now):
                tally.restoration_measured += 1
                tally.restoration_on_time += resolved is not None and resolved <= restore_by
            if arrived is not None and resolved is not None:
                tally.restoration_minutes.append((resolved - arrived).total_seconds() / 60)


def _customers(
    session: Session, units: Units, whole: Tally, counties: dict[str, Tally], cells: dict[int, Tally], end: datetime
) -> None:
    """Customers per unit, and the repeat-outage customers (频繁停电) up to `end`."""
    cell_of = func.coalesce(Customer.grid_cell_id, Transformer.grid_cell_id)
    for cell_id, count in session.execute(
        select(cell_of, func.count(Customer.id))
        .join(Transformer, Transformer.id == Customer.transformer_id)
        .group_by(cell_of)
    ):
        for tally in (whole, counties[units.county(cell_id)], cells[cell_id]):
            tally.customers += count
    since = end - REPEAT_WINDOW
    pool = (Outage.status != "cancelled", Outage.starts_at >= since, Outage.starts_at < end)
    per_transformer: Counter[int] = Counter()
    for feeder_count, transformer_id in session.execute(
        select(func.count(OutageScope.id), Transformer.id)
        .join(Outage, Outage.id == OutageScope.outage_id)
        .join(Transformer, Transformer.feeder_id == OutageScope.feeder_id)
        .where(*pool)
        .group_by(Transformer.id)
    ):
        per_transformer[transformer_id] += feeder_count
    for count, scoped in session.execute(
        select(func.count(OutageScope.id), OutageScope.transformer_id)
        .join(Outage, Outage.id == OutageScope.outage_id)
        .where(*pool, OutageScope.transformer_id.is_not(None))
        .group_by(OutageScope.transformer_id)
    ):
        if scoped is not None:
            per_transformer[scoped] += count
    own = union_all(
        select(OutageScope.customer_id.label("customer_id"))
        .join(Outage, Outage.id == OutageScope.outage_id)
        .where(*pool, OutageScope.customer_id.is_not(None)),
        select(Ticket.customer_id.label("customer_id")).where(
            Ticket.kind.in_(("repair", "hazard")),
            Ticket.outage_id.is_(None),
            Ticket.customer_id.is_not(None),
            Ticket.created_at >= since,
            Ticket.created_at < end,
        ),
    ).subquery()
    per_customer: dict[int, int] = dict(
        session.execute(select(own.c.customer_id, func.count()).group_by(own.c.customer_id)).all()  # type: ignore[arg-type]
    )
    # Only customers under a transformer with an outage, or with outages of their own, can repeat.
    candidates = set(per_customer)
    affected = [t for t, count in per_transformer.items() if count]
    query = select(Customer.id, Customer.transformer_id, cell_of).join(
        Transformer, Transformer.id == Customer.transformer_id
    )
    rows: list[Any] = []
    for start in range(0, len(affected), 500):
        rows += session.execute(query.where(Customer.transformer_id.in_(affected[start : start + 500]))).all()
    for start in range(0, len(candidates), 500):
        batch = list(candidates)[start : start + 500]
        rows += session.execute(query.where(Customer.id.in_(batch))).all()
    for customer_id, transformer_id, cell_id in dict.fromkeys(rows):
        if per_transformer.get(transformer_id, 0) + per_customer.get(customer_id, 0) >= REPEAT_OUTAGES:
            for tally in (whole, counties[units.county(cell_id)], cells[cell_id]):
                tally.repeat_outage_customers += 1


def _applications(
    session: Session, settings: Settings, start: datetime, end: datetime, tallies: Any
) -> list[dict[str, Any]]:
    """Each 业扩 stage: how many were finished in the period, and how many within the stage's limit;
    each unit's tally gets its customers' applications (those of no customer count in the whole only)."""
    limits = Limits.of(settings)
    done: Counter[str] = Counter()
    on_time: Counter[str] = Counter()
    cell_of = func.coalesce(Customer.grid_cell_id, Transformer.grid_cell_id)
    for app_type, stage, entered, left, cell_id in session.execute(
        select(Application.type, ApplicationStage.name, ApplicationStage.entered_at, ApplicationStage.left_at, cell_of)
        .join(Application, Application.id == ApplicationStage.application_id)
        .outerjoin(Customer, Customer.id == Application.customer_id)
        .outerjoin(Transformer, Transformer.id == Customer.transformer_id)
        .where(ApplicationStage.left_at.is_not(None), ApplicationStage.left_at >= start, ApplicationStage.left_at < end)
    ):
        kept = left is not None and left <= limits.stage_deadline(app_type, stage, entered)
        done[stage] += 1
        on_time[stage] += kept
        for tally in tallies(cell_id):
            tally.stages_finished += 1
            tally.stages_on_time += kept
    return [
        {
            "stage": stage,
            "label": STAGE_LABELS[stage],
            "finished": done[stage],
            "on_time": on_time[stage],
            "on_time_pct": _pct(on_time[stage], done[stage]),
        }
        for stage in STAGES
    ]


def _pushes(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    rows = session.execute(
        select(OutboxMessage.status, OutboxMessage.channel, func.count(OutboxMessage.id))
        .where(OutboxMessage.created_at >= start, OutboxMessage.created_at < end)
        .group_by(OutboxMessage.status, OutboxMessage.channel)
    ).all()
    sent: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for status, channel, count in rows:
        by_status[status] += count
        if status == "sent":
            sent[channel or "merged"] += count
    return {
        "sent_by_channel": dict(sorted(sent.items())),
        "sent": by_status["sent"],
        "failed": by_status["dead"],
        "pending": by_status["pending"],
        "cancelled": by_status["cancelled"],
    }


def conversation_figures(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Containment and fallbacks. Conversations: distinct senders that the chat layer reported a turn
    outcome for (`/conversation-events`), or that reported a repair or complaint in a chat channel,
    or that were handed to a person. Handed off: senders of a hand-off (the handoff table or a
    `handoff` event). Containment: the share of conversations never handed off. Fallbacks: the
    `fallback` events (turns the assistant did not understand)."""
    events = conversations.counts(session, start, end)
    senders = {
        (channel, sender)
        for channel, sender in session.execute(
            select(Ticket.channel, Ticket.sender_id).where(
                Ticket.created_at >= start, Ticket.created_at < end, Ticket.channel.in_(CHAT_CHANNELS)
            )
        )
    }
    handed = {
        (channel, sender)
        for channel, sender in session.execute(
            select(Handoff.channel, Handoff.sender_id).where(Handoff.created_at >= start, Handoff.created_at < end)
        )
    }
    handed |= conversations.senders(session, start, end, kind="handoff")
    senders |= handed | conversations.senders(session, start, end)
    total = len(senders)
    return {
        "conversations": total,
        "handed_off": len(handed),
        "resolved_by_assistant": total - len(handed),
        "containment_pct": _pct(total - len(handed), total),
        "fallbacks": events["fallback"],
        "resolved_events": events["resolved"],
    }
