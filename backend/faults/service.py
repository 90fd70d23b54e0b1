"""Fault diagnosis (研判): repair reports and device events clustered by topology and time into
suspected faults, each with one fault ticket; then confirmed, dismissed or restored.

The rules (DESIGN "Wave 2"; settings `FAULT_CLUSTER_*`, `DEVICE_METER_*`):
- reports from `fault_cluster_min_reports` distinct customers of one transformer within
  `fault_cluster_window_minutes` (their open repair tickets, and the report being taken) make a
  suspected transformer fault;
- suspected faults on `fault_cluster_min_transformers` transformers of one feeder within the window
  make a suspected feeder fault: the oldest is widened to the feeder and absorbs the others (its
  number and ticket stay, so its reporters keep theirs);
- a transformer or feeder losing power by a device event (or many meters of one transformer:
  backend/devices) is a suspected fault of source `device`, and every customer in it is told at once.

Exactly one fault under concurrency: every check-then-create on a feeder runs holding the feeder's
row (`FOR NO KEY UPDATE` on PostgreSQL; SQLite runs one writer at a time) and reads the pool again
once it holds it. A repair report takes it after its customer's row (lock order: customer, then
feeder); the device event processor takes the feeders of a batch in id order and no customer row.

What a fault absorbs: the open repair tickets (nobody on site yet) of its customers opened within
the window become `merged` into its ticket; each reporter is told once and follows the fault (they
hear its ticket's progress, and are asked after the restoration whether power is back); each
worker who had such tasks gets one message that replaces them (the fault ticket's own worker: in
its task message).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import Settings
from backend.core.errors import Conflict, Invalid
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.outages import service as outages
from backend.outages.enums import OutageStatus
from backend.outages.models import Outage
from backend.outages.schemas import OutageUpdate
from backend.tickets import service as tickets
from backend.tickets import state
from backend.tickets.models import Ticket
from backend.topology import service as topology
from backend.topology.models import Feeder, Transformer, Worker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evidence:
    """Why a fault is suspected: its source, a line for the worker, and when it began."""

    source: str  # reports|device
    note: str
    started_at: datetime


def lock_feeder_of(session: Session, transformer_id: int) -> int:
    """Hold the row of the transformer's feeder until the transaction ends; returns the feeder's id."""
    query = select(Feeder.id).where(Feeder.id == topology.feeder_id_of(transformer_id))
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(key_share=True)
    return int(session.execute(query).scalar_one())


def lock_feeders(session: Session, feeder_ids: list[int]) -> None:
    """Hold the rows of these feeders, in id order (so that two holders never wait on each other)."""
    if session.get_bind().dialect.name == "sqlite" or not feeder_ids:
        return
    query = select(Feeder.id).where(Feeder.id.in_(feeder_ids)).order_by(Feeder.id).with_for_update(key_share=True)
    session.execute(query).all()


def _window_start(settings: Settings) -> datetime:
    return clock.now() - timedelta(minutes=settings.fault_cluster_window_minutes)


def _recent_reports(transformer_id: int, since: datetime) -> Select[int, datetime]:
    """Distinct customers of the transformer with a repair ticket opened since `since` still open,
    and the earliest of those tickets."""
    return select(func.count(distinct(Ticket.customer_id)), func.min(Ticket.created_at)).where(
        Ticket.kind == "repair",
        Ticket.status.in_(state.OPEN_STATUSES),
        Ticket.created_at >= since,
        Ticket.customer_id.in_(select(Customer.id).where(Customer.transformer_id == transformer_id)),
    )


def on_report(session: Session, settings: Settings, customer: Customer) -> Outage | None:
    """A report of a customer with no outage covering them and no open ticket: the fault it
    completes (found now, or by a report that committed while this one waited for the feeder),
    else None and the report opens its own ticket, which counts for the next ones.

    On SQLite the report's transaction has held the database since its idempotency key was written,
    before the pool was first asked: nobody can have changed it, so the feeder is neither held nor
    asked again (two round trips less on every report that opens a ticket)."""
    serialized = session.get_bind().dialect.name == "sqlite"
    if not serialized:
        lock_feeder_of(session, customer.transformer_id)
        found = outages.covering_now(session, customer)
        if found is not None:
            return found
    since = _window_start(settings)
    others, earliest = session.execute(_recent_reports(customer.transformer_id, since)).one()
    if others + 1 < settings.fault_cluster_min_reports:
        return None
    minutes = settings.fault_cluster_window_minutes
    evidence = Evidence("reports", f"{minutes}分钟内{others + 1}户报修停电", earliest or clock.now())
    feeder_id = lock_feeder_of(session, customer.transformer_id)  # held already, except on SQLite
    return _suspect(session, settings, transformer_id=customer.transformer_id, feeder_id=feeder_id, evidence=evidence)


def transformer_lost(session: Session, settings: Settings, transformer_id: int, evidence: Evidence) -> Outage | None:
    """A device saw the transformer lose power: the fault that explains it (its customers who had
    not heard are told), or a new suspected fault. None when a planned outage explains it."""
    feeder_id = lock_feeder_of(session, transformer_id)
    found = outages.covering_transformer_now(session, transformer_id)
    if found is not None:
        if found.kind == "fault":
            outages.tell_unsubscribed(
                session, found, step="detected", template="outage_detected", transformer_id=transformer_id
            )
            return found
        return None
    return _suspect(session, settings, transformer_id=transformer_id, feeder_id=feeder_id, evidence=evidence)


def feeder_lost(session: Session, settings: Settings, feeder_id: int, evidence: Evidence) -> Outage | None:
    """A device saw the feeder lose power: the feeder fault that explains it, the suspected faults
    of its transformers widened into one, or a new suspected feeder fault. Everyone on it is told."""
    lock_feeders(session, [feeder_id])
    found = outages.live_on_feeder(session, feeder_id)
    if found is not None:
        if found.kind != "fault":
            return None
    else:
        siblings = outages.suspected_on_feeder(session, feeder_id, since=None)
        if siblings:
            _widen(session, settings, siblings[0], feeder_id, siblings[1:])
            found = siblings[0]
        else:
            first = session.scalar(
                select(Transformer.id).where(Transformer.feeder_id == feeder_id).order_by(Transformer.id)
            )
            if first is None:  # a feeder without transformers feeds nobody we serve
                return None
            found = _open(session, settings, evidence, feeder_id=feeder_id, dispatch_transformer_id=first)
    outages.tell_unsubscribed(session, found, step="detected", template="outage_detected")
    return found


def _suspect(
    session: Session, settings: Settings, *, transformer_id: int, feeder_id: int, evidence: Evidence
) -> Outage:
    """With the feeder held: a suspected transformer fault, or, with enough of its siblings, the
    feeder's (the oldest sibling widened)."""
    siblings = outages.suspected_on_feeder(session, feeder_id, since=_window_start(settings))
    if len(siblings) + 1 >= settings.fault_cluster_min_transformers:
        root = siblings[0]
        _widen(session, settings, root, feeder_id, siblings[1:])
    else:
        root = _open(session, settings, evidence, transformer_id=transformer_id)
    if evidence.source == "device":
        outages.tell_unsubscribed(session, root, step="detected", template="outage_detected")
    return root


def _open(
    session: Session,
    settings: Settings,
    evidence: Evidence,
    *,
    transformer_id: int | None = None,
    feeder_id: int | None = None,
    dispatch_transformer_id: int | None = None,
) -> Outage:
    """A new suspected fault with its ticket, absorbing the open reports of its customers."""
    where = transformer_id or dispatch_transformer_id
    assert where is not None
    area = area_type(session, where)
    moment = clock.now()
    estimate = moment + timedelta(
        minutes=tickets.arrival_minutes(settings, area), hours=tickets.restore_hours(settings, area)
    )
    outage = outages.open_fault(
        session,
        source=evidence.source,
        starts_at=evidence.started_at,
        estimated_restore_at=estimate,
        transformer_id=transformer_id,
        feeder_id=feeder_id,
    )
    if feeder_id is not None:
        name = topology.feeder_by_id(session, feeder_id).name
        description = f"{name}疑似线路故障：{evidence.note}"
        in_scope = select(Customer.id).where(
            Customer.transformer_id.in_(select(Transformer.id).where(Transformer.feeder_id == feeder_id))
        )
    else:
        name = topology.transformer_by_id(session, where).name
        description = f"{name}疑似台区故障：{evidence.note}"
        in_scope = select(Customer.id).where(Customer.transformer_id == transformer_id)
    fault = tickets.open_fault_ticket(
        session, settings, outage_id=outage.id, area_type=area, address=name, description=description, actor="system"
    )
    outage.fault_ticket_no = fault.ticket_no
    merged = tickets.merge_into(session, fault, customer_ids=in_scope, since=_window_start(settings), actor="system")
    tickets.dispatch_fault_ticket(session, fault, transformer_id=where, actor="system")
    outages.follow(session, outage, [m.customer_id for m in merged if m.customer_id is not None])
    own = _tell_workers(session, fault, merged)
    tickets.fault_task(session, fault, evidence=evidence.note, merged_note=own)
    return outage


def _widen(session: Session, settings: Settings, root: Outage, feeder_id: int, absorbed: list[Outage]) -> None:
    """The suspected transformer fault `root` becomes its feeder's: the other suspected faults on
    the feeder and the feeder's open reports are absorbed into it."""
    outages.widen_to_feeder(session, root, feeder_id)
    fault = tickets.get_ticket(session, root.fault_ticket_no or "", lock=True)
    merged: list[tickets.Merged] = []
    for other in absorbed:
        reporters = outages.merge_into(session, other, root)
        if other.fault_ticket_no:
            absorbed_ticket = tickets.get_ticket(session, other.fault_ticket_no)
            merged.append(tickets.absorb_fault_ticket(session, absorbed_ticket, fault, actor="system"))
        # Their reports were merged into the absorbed fault's ticket: the number they follow changes.
        outages.notify_reporters(
            session, root, step="widened", template="fault_widened", customer_ids=reporters,
            params={"fault_ticket_no": fault.ticket_no},
        )  # fmt: skip
    on_feeder = select(Customer.id).where(
        Customer.transformer_id.in_(select(Transformer.id).where(Transformer.feeder_id == feeder_id))
    )
    reports = tickets.merge_into(session, fault, customer_ids=on_feeder, since=_window_start(settings), actor="system")
    outages.follow(session, root, [m.customer_id for m in reports if m.customer_id is not None])
    feeder = topology.feeder_by_id(session, feeder_id)
    fault.address = feeder.name
    absorbed_note = f"，并入{len(absorbed)}个台区的疑似故障" if absorbed else ""
    tickets.add_note(session, fault, "widened", f"经研判扩大为{feeder.name}全线故障{absorbed_note}")
    own = _tell_workers(session, fault, merged + reports)
    if fault.worker_id is not None:
        tickets.worker_notice(
            session, fault.worker_id, dedup_key=f"ticket:{fault.ticket_no}:widened:{feeder_id}",
            template="worker_fault_widened",
            params=tickets.progress_params(session, fault) | {"address": feeder.name, "merged_note": own},
        )  # fmt: skip
    logger.info("fault %s widened to feeder %s, absorbing %s faults", root.id, feeder_id, len(absorbed))


def _tell_workers(session: Session, fault: Ticket, merged: list[tickets.Merged]) -> str | None:
    """One message to each worker whose tasks the fault absorbed, replacing them. Returns the line
    for the fault ticket's own worker, whose message is the fault's task."""
    by_worker: dict[int, list[str]] = defaultdict(list)
    for item in merged:
        if item.worker_id is not None:
            by_worker[item.worker_id].append(item.ticket_no)
    own = by_worker.pop(fault.worker_id, None) if fault.worker_id is not None else None
    params = tickets.progress_params(session, fault)
    for worker_id, numbers in by_worker.items():
        tickets.worker_notice(
            session, worker_id, dedup_key=f"ticket:{fault.ticket_no}:absorbed:{worker_id}:{numbers[0]}",
            template="worker_tasks_merged",
            params=params | {"merged": "、".join(numbers), "count": len(numbers),
                             "worker_name": params["worker_name"] or "调度中心"},
        )  # fmt: skip
    return f"已合并您的任务{'、'.join(own)}，无需再分别处理。" if own else None


def area_type(session: Session, transformer_id: int) -> str:
    """The service standard's area of a transformer's customers (the most common; rural when none)."""
    query = (
        select(Customer.area_type)
        .where(Customer.transformer_id == transformer_id)
        .group_by(Customer.area_type)
        .order_by(func.count().desc())
        .limit(1)
    )
    return session.scalar(query) or "rural"


# --- on site: confirm, dismiss, a new estimate; the fault ticket's steps ---------------------------


def acting_worker(session: Session, outage: Outage, worker_code: str | None, *, required: bool) -> Worker | None:
    """The worker who speaks for the outage: the fault ticket's worker or backup, or a worker of a
    cell it reaches. A dispatcher (the admin) need not name one; the worker chat must."""
    if worker_code is None:
        if required:
            raise Invalid("请提供网格员编号 worker_code", code="worker_code_required")
        return None
    worker = topology.get_worker(session, worker_code)
    fault = tickets.get_ticket(session, outage.fault_ticket_no) if outage.fault_ticket_no else None
    if fault is not None and worker.id in (fault.worker_id, fault.backup_worker_id):
        return worker
    if worker.grid_cell_id in outages.grid_cell_ids(session, outage):
        return worker
    raise Conflict(f"该停电不在{worker.name}负责的网格内", code="not_assigned")


def hold(session: Session, outage_id: int) -> Outage:
    """The outage with its feeders' rows and then its own held (the lock order of every fault path:
    feeders, outage, tickets), for a change of its status."""
    outage = outages.get_outage(session, outage_id)
    lock_feeders(session, outages.feeder_ids(session, outage))
    return outages.get_outage(session, outage_id, lock=True)


def _who(worker: Worker | None) -> str:
    return f"网格员{worker.name}" if worker else "调度中心"


def confirm(
    session: Session,
    settings: Settings,
    outage_id: int,
    *,
    cause: str,
    estimated_restore_at: datetime,
    worker_code: str | None,
    worker_required: bool,
) -> Outage:
    """A suspected fault confirmed with its cause and estimate: it becomes active and everyone
    concerned is told (outages.confirm)."""
    outage = hold(session, outage_id)
    if outage.status != "suspected":
        raise Conflict("该停电不是待核实的疑似故障", code="not_suspected")
    if estimated_restore_at <= clock.now():
        raise Invalid("预计恢复时间应晚于当前时间", code="invalid_estimate")
    worker = acting_worker(session, outage, worker_code, required=worker_required)
    outages.confirm(session, outage, cause=cause, estimated_restore_at=estimated_restore_at)
    if outage.fault_ticket_no:
        fault = tickets.get_ticket(session, outage.fault_ticket_no)
        when = outages.iso(estimated_restore_at)
        tickets.add_note(session, fault, "confirmed", f"{_who(worker)}确认故障：{cause}，预计{when}恢复",
                         actor=_actor(worker))  # fmt: skip
    logger.info("fault %s confirmed by %s", outage.id, _actor(worker))
    return outage


def dismiss(
    session: Session,
    settings: Settings,
    outage_id: int,
    *,
    reason: str,
    worker_code: str | None,
    worker_required: bool,
) -> Outage:
    """Not a line fault (不是线路故障，是个别户问题): the fault leaves the pool, its ticket is cancelled,
    every report it absorbed is a ticket of its own again, dispatched at high priority, and each
    reporter is told honestly; those told of it without asking hear that it is cleared."""
    outage = hold(session, outage_id)
    if outage.status != "suspected":
        raise Conflict("该停电不是待核实的疑似故障", code="not_suspected")
    worker = acting_worker(session, outage, worker_code, required=worker_required)
    reporters = outages.dismiss(session, outage)
    reopened: list[Ticket] = []
    fault = tickets.get_ticket(session, outage.fault_ticket_no, lock=True) if outage.fault_ticket_no else None
    if fault is not None:
        reopened = tickets.cancel_fault(session, settings, fault, reason=reason, actor=_actor(worker))
        if fault.worker_id is not None and (worker is None or worker.id != fault.worker_id):
            tickets.worker_notice(
                session, fault.worker_id, dedup_key=f"ticket:{fault.ticket_no}:dismissed",
                template="worker_fault_dismissed", params=tickets.progress_params(session, fault),
            )  # fmt: skip
    # Reporters who joined the fault without a ticket of theirs get one now.
    with_ticket = {t.customer_id for t in reopened}
    for customer_id in reporters:
        if customer_id in with_ticket:
            continue
        customer = customers.customer_by_id(session, customer_id)
        if tickets.open_repair_of(session, customer) is not None:
            continue
        openid = customers.openid_of(session, customer)
        tickets.open_ticket(
            session, settings, kind="repair", customer=customer, channel="wechat" if openid else "sms",
            sender_id=openid or customer.phone, description="停电报修（所报停电经核实非线路故障，转为单户处理）",
            actor=_actor(worker), priority="high", customer_template="fault_dismissed_ticket",
        )  # fmt: skip
    logger.info("fault %s dismissed by %s: %s reports reopened", outage.id, _actor(worker), len(reporters))
    return outage


def set_estimate(
    session: Session,
    settings: Settings,
    outage_id: int,
    *,
    estimated_restore_at: datetime,
    worker_code: str | None,
    worker_required: bool,
) -> Outage:
    """A new estimated restoration from the worker or the dispatcher (asked for when the last one
    passed): everyone told of the outage hears it."""
    outage = hold(session, outage_id)
    if outage.status not in (*outages.LIVE, OutageStatus.announced.value):
        raise Conflict("该停电已结束或取消，不能再修改", code="outage_closed")
    if estimated_restore_at <= clock.now():
        raise Invalid("预计恢复时间应晚于当前时间", code="invalid_estimate")
    worker = acting_worker(session, outage, worker_code, required=worker_required)
    outages.set_estimate(session, outage, estimated_restore_at)
    if outage.fault_ticket_no:
        fault = tickets.get_ticket(session, outage.fault_ticket_no)
        when = outages.iso(estimated_restore_at)
        tickets.add_note(session, fault, "estimate", f"{_who(worker)}更新预计恢复时间：{when}", actor=_actor(worker))
    return outage


def restore(session: Session, outage: Outage, *, at: datetime | None, note: str, actor: str) -> None:
    """Power is back (a device, the dispatch centre): the outage is restored and its fault ticket resolved."""
    outages.restore(session, outage, at=at)
    if outage.fault_ticket_no:
        tickets.resolve_fault(session, tickets.get_ticket(session, outage.fault_ticket_no, lock=True), note=note,
                              actor=actor)  # fmt: skip


def update_outage(session: Session, outage_id: int, data: OutageUpdate, *, actor: str) -> Outage:
    """`PATCH /outages/{id}`: the pool's update, and a restored fault's ticket resolved with it."""
    hold(session, outage_id)
    outage = outages.update_outage(session, outage_id, data)
    if data.status == "restored" and outage.fault_ticket_no:
        fault = tickets.get_ticket(session, outage.fault_ticket_no, lock=True)
        tickets.resolve_fault(session, fault, note="调度中心确认恢复供电", actor=actor)
    return outage


CUSTOMER_STEPS = {"accept": ("accepted", "ticket_accepted"), "arrive": ("arrived", "ticket_arrived")}


def apply_ticket_event(
    session: Session,
    settings: Settings,
    ticket_no: str,
    *,
    event: str,
    actor: str,
    worker_code: str | None,
    note: str | None,
) -> Ticket:
    """A step of any ticket (`POST /tickets/{no}/events`). A fault ticket's reporters hear its
    worker accept and arrive; its resolution restores the outage (and asks them whether power is
    back). A fault ticket is not cancelled: its fault is dismissed."""
    ticket = tickets.get_ticket(session, ticket_no)
    if ticket.kind == "fault" and event == "cancel":
        raise Conflict("故障工单请通过核实排除（dismiss）撤销", code="use_dismiss")
    if ticket.kind == "fault" and ticket.outage_id is not None:
        hold(session, ticket.outage_id)  # before the ticket: the lock order of the fault paths
    ticket = tickets.apply_event(
        session, settings, ticket_no, event=event, actor=actor, worker_code=worker_code, note=note
    )
    if ticket.kind != "fault" or ticket.outage_id is None:
        return ticket
    outage = outages.get_outage(session, ticket.outage_id, lock=True)
    if event in CUSTOMER_STEPS:
        step, template = CUSTOMER_STEPS[event]
        outages.notify_reporters(
            session, outage, step=f"ticket_{step}", template=template, params=tickets.progress_params(session, ticket)
        )
    elif event == "resolve" and outage.status in outages.LIVE:
        outages.restore(session, outage)
    return ticket


def _actor(worker: Worker | None) -> str:
    return f"worker:{worker.code}" if worker else "dispatcher"
