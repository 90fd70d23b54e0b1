"""Ticket service: open and dispatch, move through the state machine, merge into a fault's ticket
and back, rate, escalate.

Every change writes its timeline event and its outbox rows in the caller's transaction; a refused
change raises before anything is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, insert, inspect, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from backend.core import clock
from backend.core.config import Settings
from backend.core.db import skip_locked
from backend.core.errors import Conflict, NotFound
from backend.core.masking import mask_account
from backend.core.sequence import next_number
from backend.core.workdays import work_calendar
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.dispatch import service as dispatch
from backend.notifications.outbox import enqueue, insert_now, push, withdraw
from backend.tickets import state
from backend.tickets.enums import TicketStatus
from backend.tickets.models import Ticket, TicketEvent, TicketPhoto
from backend.tickets.schemas import TicketRead, TicketWorker, TimelineItem
from backend.topology import service as topology
from backend.topology.models import Worker
from backend.topology.scope import WorkerScope

logger = logging.getLogger(__name__)

#: channels where the customer is in a conversation with the bot when a ticket is opened
CHAT_CHANNELS = ("wechat", "sms", "rest")
CHANNEL_LABELS = {
    "wechat": "微信公众号",
    "wecom": "企业微信",
    "sms": "短信",
    "rest": "网页",
    "web": "网页",
    "phone": "电话",
    "system": "系统研判",
}
# The customer is told of these steps; the key is the API event.
CUSTOMER_TEMPLATES = {"accept": "ticket_accepted", "arrive": "ticket_arrived", "resolve": "ticket_resolved"}
# A customer who reports again nudges the ticket's worker at most once in this window.
REMIND_WINDOW_SECONDS = 30 * 60


def arrival_minutes(settings: Settings, area_type: str) -> int:
    return {"urban": settings.arrival_minutes_urban, "rural": settings.arrival_minutes_rural}.get(
        area_type, settings.arrival_minutes_remote
    )


def restore_hours(settings: Settings, area_type: str) -> int:
    return settings.restore_hours_urban if area_type == "urban" else settings.restore_hours_rural


def priority_for(kind: str, customer: Customer | None) -> str:
    if kind in ("hazard", "fault"):
        return "urgent"
    if kind == "repair" and customer is not None and (customer.medical_equipment or customer.customer_type == "key"):
        return "high"
    return "normal"


def open_load(worker_id: Any) -> ColumnElement[int]:
    """The number of tasks the worker carries (dispatched, accepted or arrived), as SQL."""
    query = select(func.count(Ticket.id)).where(Ticket.worker_id == worker_id, Ticket.status.in_(state.LOAD_STATUSES))
    return query.scalar_subquery()


_INSERT_EVENT = insert(cast(Table, TicketEvent.__table__))


# A line of a ticket's timeline: (type, actor, note).
Line = tuple[str, str, str | None]


def _timeline(session: Session, ticket: Ticket, lines: list[Line]) -> None:
    """Write lines of the ticket's timeline now, in order, in one INSERT (no flush); the ticket is in
    the database."""
    moment = clock.now()
    rows = [
        {"ticket_id": ticket.id, "type": kind, "at": moment, "actor": actor, "note": note}
        for kind, actor, note in lines
    ]
    session.execute(_INSERT_EVENT, rows)


def _event(session: Session, ticket: Ticket, event_type: str, actor: str, note: str | None = None) -> None:
    _timeline(session, ticket, [(event_type, actor, note)])


@dataclass(frozen=True)
class Place:
    """Where a ticket is worked: the grid cell (or, when None, the transformer's cell) and the area's
    service standard. A customer's own, or found from where a passer-by reported."""

    grid_cell_id: int | None
    transformer_id: int | None
    area_type: str


def open_ticket(
    session: Session,
    settings: Settings,
    *,
    kind: str,
    customer: Customer | None,
    channel: str,
    sender_id: str,
    description: str,
    actor: str,
    callback_phone: str | None = None,
    address: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    outage_id: int | None = None,
    place: Place | None = None,
    priority: str | None = None,
    customer_template: str = "ticket_dispatched",
    told_in_chat: bool = False,
) -> Ticket:
    """Open a ticket and dispatch it; without a customer or a `place` it waits in the dispatch
    centre's queue. The reporter hears of the dispatch by `customer_template`, unless it is
    `told_in_chat`: opened while the assistant answers the customer, whose reply says the ticket
    and the arrival time in the conversation's order (a push would say it again, and could overtake
    the reply)."""
    moment = clock.now()
    ticket = Ticket(
        ticket_no=next_number(session, "QX"),
        kind=kind,
        priority=priority or priority_for(kind, customer),
        status=TicketStatus.received.value,
        customer_id=customer.id if customer else None,
        channel=channel,
        sender_id=sender_id,
        callback_phone=callback_phone,
        description=description,
        address=address,
        latitude=latitude,
        longitude=longitude,
        outage_id=outage_id,
        created_at=moment,
        updated_at=moment,
    )
    if customer is not None:
        place = _place_of(customer)
    if kind == "complaint":
        ticket.contact_deadline = moment + timedelta(hours=settings.complaint_contact_hours)
        ticket.answer_deadline = work_calendar(settings.working_calendar_file).add(
            moment, settings.complaint_answer_working_days
        )
    elif place is not None:
        _set_repair_deadlines(ticket, settings, place.area_type, moment)
    choice = _choose(session, ticket, place) if place is not None else None
    if choice is not None and choice.worker is not None:
        _set_worker(ticket, choice.worker, choice.backup)
    _insert(session, ticket)
    created: Line = ("created", actor, f"{CHANNEL_LABELS.get(channel, channel)}受理")
    if choice is not None:
        _announce_choice(
            session, ticket, customer, choice, actor, tell_customer=not told_in_chat, before=[created],
            customer_template=customer_template,
        )  # fmt: skip
    elif kind == "complaint":
        _timeline(session, ticket, [created])
    else:
        manual: Line = ("manual_dispatch", "system", "未匹配到用电户，转调度中心核实地址后人工派单")
        _timeline(session, ticket, [created, manual])
        logger.warning("ticket %s (%s) matches no customer: waiting for the dispatch centre", ticket.ticket_no, kind)
    logger.info(
        "ticket %s opened (%s, %s) for account %s",
        ticket.ticket_no,
        kind,
        ticket.priority,
        mask_account(customer.account_no if customer else None),
    )
    return ticket


_TICKETS = cast(Table, Ticket.__table__)
_INSERT_TICKET = insert(_TICKETS).returning(_TICKETS.c.id)
_COLUMNS = {column.key for column in _TICKETS.columns} - {"id"}


def _insert(session: Session, ticket: Ticket) -> None:
    """Insert a new ticket, already dispatched, with one Core statement (the unit of work's flush
    cost a fifth of a repair report), then hand it to the session as a loaded row."""
    for key in inspect(ticket).unloaded & _COLUMNS:
        setattr(ticket, key, None)  # known to be NULL: not loaded again when read
    values = {key: getattr(ticket, key) for key in _COLUMNS}
    ticket.id = session.execute(_INSERT_TICKET, values).scalar_one()
    make_transient_to_detached(ticket)
    session.add(ticket)


def _set_repair_deadlines(ticket: Ticket, settings: Settings, area_type: str, moment: Any) -> None:
    ticket.arrival_deadline = moment + timedelta(minutes=arrival_minutes(settings, area_type))
    ticket.restore_deadline = ticket.arrival_deadline + timedelta(hours=restore_hours(settings, area_type))


def _choose(
    session: Session, ticket: Ticket, place: Place | None = None, *, transformer_id: int | None = None
) -> dispatch.Assignment:
    """Who goes: in the place's cell, or in the cell of `transformer_id`."""
    supervisor = ticket.kind == "complaint"
    with session.no_autoflush:
        return dispatch.choose(
            session,
            cell_id=place.grid_cell_id if place else None,
            transformer_id=place.transformer_id if place else transformer_id,
            open_load=open_load,
            supervisor=supervisor,
        )


def _place_of(customer: Customer) -> Place:
    return Place(customer.grid_cell_id, customer.transformer_id, customer.area_type)


def _dispatch(
    session: Session,
    ticket: Ticket,
    customer: Customer,
    actor: str,
    *,
    before: list[Line] | None = None,
    customer_template: str = "ticket_dispatched",
    step: str = "dispatched",
) -> bool:
    """Assign a waiting ticket; False when nobody at all can take it (it stays `received`)."""
    choice = _choose(session, ticket, _place_of(customer))
    if choice.worker is not None:
        _set_worker(ticket, choice.worker, choice.backup)
    return _announce_choice(
        session, ticket, customer, choice, actor, before=before, customer_template=customer_template, step=step
    )


def _announce_choice(
    session: Session,
    ticket: Ticket,
    customer: Customer | None,
    choice: dispatch.Assignment,
    actor: str,
    *,
    tell_customer: bool = True,
    before: list[Line] | None = None,
    customer_template: str = "ticket_dispatched",
    step: str = "dispatched",
) -> bool:
    """The timeline (after the lines `before`) and pushes of a dispatch choice already set on the
    ticket; False when nobody was found."""
    lines = list(before or [])
    if choice.worker is None:
        _timeline(session, ticket, [*lines, ("no_worker_available", "system", f"{choice.cell_name}暂无在岗人员")])
        return False
    if choice.overloaded:
        if choice.worker.grid_cell_id != choice.cell_id:
            note = f"{choice.cell_name}班组承载力已满，转派邻近网格{choice.neighbour_name}"
        else:
            note = f"{choice.cell_name}及邻近网格均已满负荷，仍派给{choice.worker.name}"
        lines.append(("overload_warning", "system", note))
    _announce(
        session, ticket, customer, choice.worker, actor, tell_customer=tell_customer, before=lines,
        customer_template=customer_template, step=step,
    )  # fmt: skip
    return True


def _set_worker(ticket: Ticket, worker: Worker, backup: Worker | None) -> None:
    ticket.worker = worker  # kept with the ticket for its answer, not loaded again
    ticket.worker_id = worker.id  # a new ticket is inserted by a Core statement, which reads the column
    ticket.backup_worker_id = backup.id if backup else None
    ticket.status = TicketStatus.dispatched.value
    ticket.dispatched_at = clock.now()
    ticket.updated_at = ticket.dispatched_at


def _announce(
    session: Session,
    ticket: Ticket,
    customer: Customer | None,
    worker: Worker,
    actor: str,
    *,
    tell_customer: bool = True,
    before: list[Line] | None = None,
    customer_template: str = "ticket_dispatched",
    step: str = "dispatched",
) -> None:
    """The dispatch's timeline line (after the lines `before`), the reporter's push (`customer_template`,
    unless the reporter hears it in the chat: `tell_customer` False) and the worker's task, written
    now. A later dispatch of the same ticket (after the fault it was merged into was dismissed) names
    its own `step`, which keys both pushes."""
    _timeline(session, ticket, [*(before or []), ("dispatched", actor, f"派发给{worker.name}")])
    params = _params(session, ticket, customer, worker)
    assigned = "assigned" if step == "dispatched" else step
    pushes = [
        push(
            dedup_key=f"ticket:{ticket.ticket_no}:{assigned}:{worker.code}",
            template="worker_task_assigned",
            params=params | {"customer_phone": customer.phone if customer else ticket.callback_phone},
            worker_id=worker.id,
            urgent=True,
        )
    ]
    reporter = reporter_of(ticket, customer) if tell_customer else {}
    if reporter:
        pushes.insert(
            0,
            push(
                dedup_key=f"ticket:{ticket.ticket_no}:{step}",
                template=customer_template,
                params=params,
                urgent=ticket.kind == "hazard",
                **reporter,
            ),
        )
    insert_now(session, pushes)


def reporter_of(ticket: Ticket, customer: Customer | None) -> dict[str, Any]:
    """Who hears of the ticket's dispatch: the customer, else whoever reported it on WeChat or SMS."""
    if customer is not None:
        return {"customer_id": customer.id}
    if ticket.channel == "wechat":
        return {"wechat_openid": ticket.sender_id}
    phone = ticket.callback_phone or (ticket.sender_id if ticket.channel == "sms" else None)
    return {"phone": phone} if phone else {}


def assign_manually(session: Session, settings: Settings, ticket_no: str, *, worker_code: str, actor: str) -> Ticket:
    """The dispatch centre places a ticket that nobody could be chosen for (409 unless `received`);
    a fault's ticket (nobody on duty when the fault was found) gets its fault task message."""
    ticket = get_ticket(session, ticket_no, lock=True)
    if ticket.status != TicketStatus.received.value:
        raise Conflict(f"工单当前状态为 {ticket.status}，不能再派发", code="illegal_transition")
    worker = topology.get_worker(session, worker_code)
    customer = customers.customer_by_id(session, ticket.customer_id) if ticket.customer_id else None
    if ticket.kind not in ("complaint", "fault"):
        _set_repair_deadlines(ticket, settings, customer.area_type if customer else "rural", clock.now())
    _set_worker(ticket, worker, None)
    if ticket.kind == "fault":
        _event(session, ticket, "dispatched", actor, f"派发给{worker.name}")
        fault_task(session, ticket, evidence=ticket.description.split("：", 1)[-1], merged_note=None)
    else:
        _announce(session, ticket, customer, worker, actor)
    session.flush()
    return ticket


def _params(session: Session, ticket: Ticket, customer: Customer | None, worker: Worker | None) -> dict[str, Any]:
    deadline = ticket.arrival_deadline or ticket.contact_deadline
    return {
        "ticket_no": ticket.ticket_no,
        "kind": ticket.kind,
        "priority": ticket.priority,
        "description": ticket.description,
        "account_no": customer.account_no if customer else None,
        "customer_name": customer.name if customer else None,
        "address": customer.address if customer else ticket.address,
        "worker_name": worker.name if worker else None,
        "worker_phone": worker.phone if worker else None,
        "deadline": iso(deadline),
        "arrival_deadline": iso(ticket.arrival_deadline),
        "restore_deadline": iso(ticket.restore_deadline),
        "resolution": ticket.resolution,
    }


def progress_params(session: Session, ticket: Ticket) -> dict[str, Any]:
    """A ticket's values for its pushes: number, worker, deadlines, resolution."""
    customer = customers.customer_by_id(session, ticket.customer_id) if ticket.customer_id else None
    worker = session.get(Worker, ticket.worker_id) if ticket.worker_id else None
    return _params(session, ticket, customer, worker)


def iso(moment: Any) -> str | None:
    local = clock.to_local(moment)
    return local.isoformat() if local else None


def get_ticket(session: Session, ticket_no: str, *, lock: bool = False) -> Ticket:
    """The ticket; with `lock`, its row is held until the transaction ends, so that a change of its
    status does not race a merge into a fault's ticket."""
    query = select(Ticket).where(Ticket.ticket_no == ticket_no)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    ticket = session.scalar(query)
    if ticket is None:
        raise NotFound(f"没有找到工单 {ticket_no}，请核对工单号", code="ticket_not_found")
    return ticket


def check_worker_access(session: Session, ticket: Ticket, scope: WorkerScope | None, *, act: bool) -> None:
    """A worker request reads the tickets assigned to it or of its cell, and moves the ones assigned
    to it (a supervisor: of its cell); any other ticket is answered as unknown."""
    if scope is None or scope.worker_id in (ticket.worker_id, ticket.backup_worker_id):
        return
    if ticket.customer_id is not None and (not act or scope.is_supervisor):
        customer = customers.customer_by_id(session, ticket.customer_id)
        if customers.grid_cell_id_of(session, customer) == scope.grid_cell_id:
            return
    logger.warning("worker %s refused ticket %s outside its scope", scope.code, ticket.ticket_no)
    raise NotFound(f"没有找到工单 {ticket.ticket_no}，请核对工单号", code="ticket_not_found")


def list_for_customer(session: Session, customer: Customer, *, open_only: bool) -> list[Ticket]:
    query = select(Ticket).where(Ticket.customer_id == customer.id).order_by(Ticket.created_at.desc())
    if open_only:
        query = query.where(Ticket.status.in_(state.OPEN_STATUSES))
    return list(session.scalars(query.limit(50)))


_OPEN_REPAIR = (
    select(Ticket)
    .where(
        Ticket.customer_id == bindparam("customer_id"),
        Ticket.kind == "repair",
        Ticket.status.in_(state.OPEN_STATUSES),
    )
    .order_by(Ticket.created_at.desc())
    .limit(1)
)  # built once: asked on every repair report


def open_repair_of(session: Session, customer: Customer) -> Ticket | None:
    """The customer's newest repair ticket still being worked on, if any."""
    return session.scalars(_OPEN_REPAIR, {"customer_id": customer.id}).first()


def remind(session: Session, ticket: Ticket, customer: Customer, *, description: str, actor: str) -> None:
    """A repeated report on an open ticket: a 催办 line in the timeline and a nudge to its worker.

    The worker hears of it at most once per `REMIND_WINDOW`, however often the customer writes.
    """
    moment = clock.now()
    ticket.updated_at = moment
    _event(session, ticket, "reminded", actor, f"客户再次报修催办：{description}")
    if ticket.worker_id is None or ticket.status not in (TicketStatus.dispatched.value, TicketStatus.accepted.value):
        return
    window = int(moment.timestamp()) // REMIND_WINDOW_SECONDS
    worker = session.get(Worker, ticket.worker_id)
    enqueue(
        session,
        dedup_key=f"ticket:{ticket.ticket_no}:reminded:{window}",
        template="worker_task_reminded",
        params=_params(session, ticket, customer, worker) | {"customer_phone": customer.phone},
        worker_id=ticket.worker_id,
        urgent=True,
    )


def withdraw_by_customer(session: Session, settings: Settings, ticket_no: str, *, reason: str, actor: str) -> Ticket:
    """The customer calls their repair off before anybody is on site (power came back, or they found
    the cause): the ticket is cancelled with their words on its timeline and its worker is told at
    once not to come. 409 `worker_on_site` once the worker has arrived (the visit finishes the
    ticket), `not_withdrawable` for a hazard (someone looks at it whatever), a fault ticket or a
    ticket no longer open."""
    ticket = get_ticket(session, ticket_no, lock=True)
    if ticket.kind != "repair":
        raise Conflict("安全隐患和故障工单不能撤销", code="not_withdrawable")
    if ticket.status == TicketStatus.arrived.value:
        raise Conflict("网格员已到现场", code="worker_on_site")
    if ticket.status not in state.WITHDRAWABLE_STATUSES:
        raise Conflict(f"工单当前状态为 {ticket.status}，不能撤销", code="not_withdrawable")
    ticket = apply_event(session, settings, ticket_no, event="cancel", actor=actor, note=f"客户撤销：{reason}")
    if ticket.worker_id is not None:
        enqueue(
            session,
            dedup_key=f"ticket:{ticket.ticket_no}:withdrawn",
            template="worker_task_withdrawn",
            params=progress_params(session, ticket) | {"reason": reason[:100]},
            worker_id=ticket.worker_id,
            urgent=True,
        )
    return ticket


def dispatch_queue(session: Session) -> list[Ticket]:
    """Tickets that nobody is assigned to, oldest first: the dispatch centre's work list."""
    query = (
        select(Ticket)
        .where(Ticket.status == TicketStatus.received.value, Ticket.worker_id.is_(None), Ticket.kind != "complaint")
        .order_by(Ticket.created_at)
    )
    return list(session.scalars(query.limit(200)))


def list_for_worker(session: Session, worker: Worker, *, open_only: bool) -> list[Ticket]:
    query = select(Ticket).where(Ticket.worker_id == worker.id).order_by(Ticket.created_at.desc())
    if open_only:
        query = query.where(Ticket.status.in_(state.LOAD_STATUSES))
    return list(session.scalars(query.limit(100)))


def apply_event(
    session: Session,
    settings: Settings,
    ticket_no: str,
    *,
    event: str,
    actor: str,
    worker_code: str | None = None,
    note: str | None = None,
) -> Ticket:
    """Move the ticket by one event; 409 `illegal_transition` (and nothing written) when not allowed."""
    ticket = get_ticket(session, ticket_no, lock=True)
    target = state.next_status(ticket.status, event)
    if target is None:
        raise Conflict(f"工单当前状态为 {ticket.status}，不能执行 {event}", code="illegal_transition")
    worker = session.get(Worker, ticket.worker_id) if ticket.worker_id else None
    if worker_code is not None:
        acting = topology.get_worker(session, worker_code)
        allowed = {ticket.worker_id, ticket.backup_worker_id} if event == "accept" else {ticket.worker_id}
        if acting.id not in allowed:
            raise Conflict(f"工单 {ticket_no} 未派给 {acting.name}", code="not_assigned")
        if event == "accept" and acting.id != ticket.worker_id:
            ticket.backup_worker_id, ticket.worker_id = ticket.worker_id, acting.id
        worker = acting
        actor = f"worker:{acting.code}"
    moment = clock.now()
    customer = customers.customer_by_id(session, ticket.customer_id) if ticket.customer_id else None
    if event == "arrive" and customer is not None and ticket.kind != "complaint":
        ticket.restore_deadline = moment + timedelta(hours=restore_hours(settings, customer.area_type))
    if event == "resolve":
        ticket.resolution = note
    ticket.status = target.value
    ticket.updated_at = moment
    _event(session, ticket, state.EVENT_RECORDS[event], actor, note)
    session.flush()
    if customer is not None and event in CUSTOMER_TEMPLATES:
        params = _params(session, ticket, customer, worker)
        step = state.EVENT_RECORDS[event]
        enqueue(
            session,
            dedup_key=f"ticket:{ticket.ticket_no}:{step}",
            template=CUSTOMER_TEMPLATES[event],
            params=params,
            customer_id=customer.id,
            urgent=event == "resolve",
        )
        if event == "resolve":
            # Asked later, and withdrawn when the customer answers whether power is back first (the
            # chat then asks for the rating itself): never two digit questions open at once.
            enqueue(
                session,
                dedup_key=f"ticket:{ticket.ticket_no}:rating_request",
                template="ticket_rating_request",
                params=params,
                customer_id=customer.id,
                not_before=moment + timedelta(minutes=settings.rating_request_delay_minutes),
            )
    logger.info("ticket %s: %s → %s by %s", ticket.ticket_no, event, target.value, actor)
    return ticket


def rate(session: Session, ticket_no: str, *, score: int, comment: str | None, actor: str) -> Ticket:
    """A merged report is rated on its own once the fault it was merged into is resolved."""
    ticket = get_ticket(session, ticket_no, lock=True)
    done = (TicketStatus.resolved.value, TicketStatus.closed.value)
    fault = session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
    if ticket.status not in done and not (
        ticket.status == TicketStatus.merged.value and fault is not None and fault.status in done
    ):
        raise Conflict("工单处理完成后才能评价", code="not_resolved")
    if ticket.rating is not None:
        raise Conflict("该工单已经评价过了，感谢您的反馈", code="already_rated")
    ticket.rating = score
    ticket.rating_comment = comment
    ticket.updated_at = clock.now()
    _event(session, ticket, "rated", actor, f"{score}分" + (f"：{comment}" if comment else ""))
    session.flush()
    return ticket


def praise(session: Session, ticket: Ticket, *, text: str, actor: str) -> None:
    """The customer's praise: a line of the ticket's timeline, and passed on to its worker (once a
    day a ticket, however often it is said)."""
    _event(session, ticket, "praised", actor, f"客户表扬：{text}")
    if ticket.worker_id is not None:
        day = clock.local_today().isoformat()
        customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        worker = session.get(Worker, ticket.worker_id)
        enqueue(
            session,
            dedup_key=f"ticket:{ticket.ticket_no}:praised:{day}",
            template="worker_praised",
            params=_params(session, ticket, customer, worker) | {"praise": text[:100]},
            worker_id=ticket.worker_id,
        )
    session.flush()


def add_photo(session: Session, ticket_no: str, *, media_id: str | None, url: str | None, actor: str) -> Ticket:
    ticket = get_ticket(session, ticket_no)
    session.add(TicketPhoto(ticket_id=ticket.id, media_id=media_id, url=url, added_at=clock.now(), actor=actor))
    _event(session, ticket, "photo_added", actor, media_id or url)
    session.flush()
    return ticket


def record_missed_deadline(
    session: Session, ticket: Ticket, what: str, deadline: datetime, new_estimate: datetime | None
) -> None:
    """A `deadline_missed` line on the ticket's timeline: what was promised by when, and the new
    estimate the customer was given (the breach's escalation and push are the service standard's)."""

    def said(moment: datetime) -> str:
        local = moment.astimezone(clock.LOCAL_ZONE)
        return f"{local.month}月{local.day}日{local:%H:%M}"

    note = f"{what}超过时限（{said(deadline)}）"
    if new_estimate is not None:
        note += f"，已告知客户新的预计时间{said(new_estimate)}"
    _event(session, ticket, "deadline_missed", "system", note)


def escalate_overdue(session: Session, settings: Settings) -> list[str]:
    """Escalate tickets dispatched more than `accept_escalation_minutes` ago and still not accepted.

    The backup worker and the cell's supervisor get a `worker_task_escalated` push; tickets that
    nobody could take are dispatched again. Each ticket is escalated once, also when several
    notifiers run this at the same time: the tickets are read with `skip_locked`, so a run leaves
    those another run holds to it. Returns the ticket numbers.
    """
    moment = clock.now()
    cutoff = moment - timedelta(minutes=settings.accept_escalation_minutes)
    overdue = session.scalars(
        skip_locked(
            session,
            select(Ticket)
            .where(
                Ticket.status == TicketStatus.dispatched.value,
                Ticket.escalated_at.is_(None),
                Ticket.dispatched_at <= cutoff,
            )
            .order_by(Ticket.id),
        )
    ).all()
    escalated = []
    for ticket in overdue:
        worker = session.get(Worker, ticket.worker_id) if ticket.worker_id else None
        customer = customers.customer_by_id(session, ticket.customer_id) if ticket.customer_id else None
        ticket.escalated_at = moment
        note = f"{worker.name if worker else '责任人'}超过{settings.accept_escalation_minutes}分钟未接单"
        _event(session, ticket, "escalated", "system", note)
        params = _params(session, ticket, customer, worker) | {"minutes": settings.accept_escalation_minutes}
        targets = [session.get(Worker, ticket.backup_worker_id)] if ticket.backup_worker_id else []
        if worker is not None:
            targets += [w for w in topology.workers_of_cell(session, worker.grid_cell_id) if w.is_supervisor]
        for target in targets:
            if target is not None:
                enqueue(
                    session,
                    dedup_key=f"ticket:{ticket.ticket_no}:escalated:{target.code}",
                    template="worker_task_escalated",
                    params=params,
                    worker_id=target.id,
                    urgent=True,
                )
        escalated.append(ticket.ticket_no)
    waiting = session.scalars(
        skip_locked(
            session,
            select(Ticket)
            .where(
                Ticket.status == TicketStatus.received.value,
                Ticket.customer_id.is_not(None),
                Ticket.created_at <= cutoff,
            )
            .order_by(Ticket.id),
        )
    ).all()
    for ticket in waiting:
        customer = customers.customer_by_id(session, ticket.customer_id)  # type: ignore[arg-type]
        if _dispatch(session, ticket, customer, "system"):
            escalated.append(ticket.ticket_no)
    session.flush()
    if escalated:
        logger.warning("escalated %s tickets not accepted in time", len(escalated))
    return escalated


def add_note(session: Session, ticket: Ticket, event_type: str, note: str, *, actor: str = "system") -> None:
    """A line of the ticket's timeline that changes nothing (what a device saw, for example)."""
    _event(session, ticket, event_type, actor, note)


def merged_numbers(session: Session, fault_ticket_no: str) -> dict[int, str]:
    """The tickets merged into a fault's ticket: customer id → that customer's ticket number."""
    fault = session.scalar(select(Ticket.id).where(Ticket.ticket_no == fault_ticket_no))
    query = select(Ticket.customer_id, Ticket.ticket_no).where(
        Ticket.merged_into_id == fault, Ticket.customer_id.is_not(None)
    )
    return {customer_id: ticket_no for customer_id, ticket_no in session.execute(query) if customer_id is not None}


def open_fault_ticket(
    session: Session,
    settings: Settings,
    *,
    outage_id: int,
    area_type: str,
    address: str,
    description: str,
    actor: str,
) -> Ticket:
    """A fault's one repair ticket (kind `fault`, top priority), not yet dispatched: the reports it
    absorbs are merged first (`merge_into`), so that their tasks no longer weigh on the choice
    (`dispatch_fault_ticket`)."""
    moment = clock.now()
    ticket = Ticket(
        ticket_no=next_number(session, "QX"),
        kind="fault",
        priority="urgent",
        status=TicketStatus.received.value,
        customer_id=None,
        channel="system",
        sender_id=actor,
        description=description,
        address=address,
        outage_id=outage_id,
        created_at=moment,
        updated_at=moment,
    )
    _set_repair_deadlines(ticket, settings, area_type, moment)
    _insert(session, ticket)
    _event(session, ticket, "created", actor, f"系统研判生成：{description}")
    logger.info("fault ticket %s opened for outage %s", ticket.ticket_no, outage_id)
    return ticket


def dispatch_fault_ticket(session: Session, ticket: Ticket, *, transformer_id: int, actor: str) -> None:
    """Dispatch a fault's ticket to the worker of the transformer's cell (its task message is the
    caller's to write, `fault_task`: it says what the fault absorbed)."""
    choice = _choose(session, ticket, transformer_id=transformer_id)
    if choice.worker is None:
        _event(session, ticket, "no_worker_available", "system", f"{choice.cell_name}暂无在岗人员")
        return
    _set_worker(ticket, choice.worker, choice.backup)
    lines: list[Line] = []
    if choice.overloaded:
        lines.append(("overload_warning", "system", f"{choice.cell_name}班组承载力已满，仍派给{choice.worker.name}"))
    _timeline(session, ticket, [*lines, ("dispatched", actor, f"派发给{choice.worker.name}")])
    session.flush()


def fault_task(session: Session, ticket: Ticket, *, evidence: str, merged_note: str | None) -> None:
    """The worker's WeCom task of a fault ticket: where, why it is suspected, how to confirm or dismiss."""
    if ticket.worker_id is None:
        return
    worker = session.get(Worker, ticket.worker_id)
    params = _params(session, ticket, None, worker) | {"evidence": evidence, "merged_note": merged_note}
    enqueue(
        session,
        dedup_key=f"ticket:{ticket.ticket_no}:assigned:{worker.code if worker else ticket.worker_id}",
        template="worker_fault_assigned",
        params=params,
        worker_id=ticket.worker_id,
        urgent=True,
    )


@dataclass(frozen=True)
class Merged:
    """A ticket absorbed into a fault's ticket."""

    ticket_no: str
    customer_id: int | None
    worker_id: int | None


def merge_into(
    session: Session, fault: Ticket, *, customer_ids: Select[Any], since: datetime, actor: str
) -> list[Merged]:
    """The open repair tickets of those customers, opened since `since` with nobody on site yet,
    become `merged` into the fault's ticket: a timeline line each, their pushes not sent yet (the
    reporter's dispatch notice, the worker's task) withdrawn, and each reporter told once."""
    moment = clock.now()
    rows = session.execute(
        update(Ticket)
        .where(
            Ticket.kind == "repair",
            Ticket.status.in_(state.MERGEABLE_STATUSES),
            Ticket.created_at >= since,
            Ticket.customer_id.in_(customer_ids),
        )
        .values(status=TicketStatus.merged.value, merged_into_id=fault.id, updated_at=moment)
        .returning(Ticket.id, Ticket.ticket_no, Ticket.customer_id, Ticket.worker_id)
        .execution_options(synchronize_session=False)
    ).all()
    if not rows:
        return []
    note = f"经研判与周边报修属同一故障，并入故障工单{fault.ticket_no}"
    session.execute(
        _INSERT_EVENT,
        [{"ticket_id": row.id, "type": "merged", "at": moment, "actor": actor, "note": note} for row in rows],
    )
    withdraw(session, dedup_prefix=[f"ticket:{row.ticket_no}:" for row in rows], reason="merged into a fault")
    pushes = [
        push(
            dedup_key=f"ticket:{row.ticket_no}:merged:{fault.ticket_no}",
            template="ticket_merged",
            params={"ticket_no": row.ticket_no, "fault_ticket_no": fault.ticket_no},
            customer_id=row.customer_id,
            urgent=True,
        )
        for row in rows
    ]
    insert_now(session, pushes)
    logger.info("%s tickets merged into fault ticket %s", len(rows), fault.ticket_no)
    return [Merged(row.ticket_no, row.customer_id, row.worker_id) for row in rows]


def absorb_fault_ticket(session: Session, absorbed: Ticket, into: Ticket, *, actor: str) -> Merged:
    """A fault's ticket absorbed into a wider fault's: it is merged, and so are (directly) the
    tickets it had absorbed; its pending task is withdrawn."""
    moment = clock.now()
    session.execute(
        update(Ticket)
        .where(Ticket.merged_into_id == absorbed.id)
        .values(merged_into_id=into.id, updated_at=moment)
        .execution_options(synchronize_session=False)
    )
    absorbed.status = TicketStatus.merged.value
    absorbed.merged_into_id = into.id
    absorbed.updated_at = moment
    _event(session, absorbed, "merged", actor, f"故障范围扩大，并入故障工单{into.ticket_no}")
    withdraw(session, dedup_prefix=f"ticket:{absorbed.ticket_no}:", reason="merged into a wider fault")
    return Merged(absorbed.ticket_no, None, absorbed.worker_id)


def unmerge(session: Session, settings: Settings, fault: Ticket, *, actor: str) -> list[Ticket]:
    """The fault is dismissed: each repair ticket merged into its ticket is a report of its own
    again, dispatched at high priority with a new arrival deadline, its reporter told honestly
    (`fault_dismissed_ticket`); fault tickets it had absorbed are cancelled. Returns the repair tickets."""
    merged = session.scalars(select(Ticket).where(Ticket.merged_into_id == fault.id).order_by(Ticket.id)).all()
    moment = clock.now()
    reopened = []
    for ticket in merged:
        ticket.merged_into_id = None
        ticket.updated_at = moment
        if ticket.kind == "fault":
            ticket.status = TicketStatus.cancelled.value
            _event(session, ticket, "cancelled", actor, "故障经核实排除")
            continue
        customer = customers.customer_by_id(session, ticket.customer_id)  # type: ignore[arg-type]
        ticket.status = TicketStatus.received.value
        ticket.priority = "high" if ticket.priority == "normal" else ticket.priority
        _set_repair_deadlines(ticket, settings, customer.area_type, moment)
        unmerged: Line = ("unmerged", actor, f"故障工单{fault.ticket_no}经核实排除，转为单户工单")
        _dispatch(
            session, ticket, customer, actor, before=[unmerged], customer_template="fault_dismissed_ticket",
            step=f"reopened:{fault.ticket_no}",
        )  # fmt: skip
        reopened.append(ticket)
    session.flush()
    return reopened


def resolve_fault(session: Session, fault: Ticket, *, note: str, actor: str) -> None:
    """Power is back (a device, the dispatch centre): the fault's ticket is resolved wherever it was."""
    if fault.status not in state.OPEN_STATUSES:
        return
    fault.status = TicketStatus.resolved.value
    fault.resolution = note
    fault.updated_at = clock.now()
    _event(session, fault, "resolved", actor, note)


def cancel_fault(session: Session, settings: Settings, fault: Ticket, *, reason: str, actor: str) -> list[Ticket]:
    """The fault is dismissed: its ticket is cancelled and what it absorbed is reopened (`unmerge`)."""
    if fault.status in state.OPEN_STATUSES:
        fault.status = TicketStatus.cancelled.value
        fault.updated_at = clock.now()
        _event(session, fault, "cancelled", actor, f"核实排除：{reason}")
    return unmerge(session, settings, fault, actor=actor)


def alert_hazard(session: Session, settings: Settings, ticket: Ticket) -> None:
    """A hazard is never left unseen: the supervisors of the cell it was dispatched in hear of it at
    once; one nobody could be placed for alerts the duty dispatchers."""
    customer = customers.customer_by_id(session, ticket.customer_id) if ticket.customer_id else None
    phone = customer.phone if customer else ticket.callback_phone
    params = _params(session, ticket, customer, ticket.worker) | {"customer_phone": phone}
    if ticket.worker is not None:
        supervisors = [w for w in topology.workers_of_cell(session, ticket.worker.grid_cell_id) if w.is_supervisor]
        for supervisor in supervisors:
            enqueue(
                session, dedup_key=f"ticket:{ticket.ticket_no}:hazard_alert:{supervisor.code}",
                template="worker_hazard_alert", params=params, worker_id=supervisor.id, urgent=True,
            )  # fmt: skip
        return
    if not settings.duty_dispatchers:
        logger.warning("hazard %s could not be placed and no duty dispatcher is configured", ticket.ticket_no)
    for user in settings.duty_dispatchers:
        enqueue(
            session, dedup_key=f"ticket:{ticket.ticket_no}:unplaced:{user}", template="dispatch_hazard_unplaced",
            params=params, wecom_user_id=user, urgent=True,
        )  # fmt: skip


def worker_notice(session: Session, worker_id: int, *, dedup_key: str, template: str, params: dict[str, Any]) -> None:
    """A WeCom message to a worker about tickets (a merge, a dismissal)."""
    enqueue(session, dedup_key=dedup_key, template=template, params=params, worker_id=worker_id, urgent=True)


def _contact(worker: Worker | None) -> TicketWorker | None:
    return TicketWorker(code=worker.code, name=worker.name, phone=worker.phone) if worker else None


def read(session: Session, ticket: Ticket) -> TicketRead:
    customer = customers.customer_by_id(session, ticket.customer_id) if ticket.customer_id else None
    events = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    ).all()
    photos = session.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id).order_by(TicketPhoto.id))
    worker = session.get(Worker, ticket.worker_id) if ticket.worker_id else None
    backup = session.get(Worker, ticket.backup_worker_id) if ticket.backup_worker_id else None
    local = clock.to_local
    merged_into = session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
    return TicketRead(
        ticket_no=ticket.ticket_no,
        kind=ticket.kind,  # type: ignore[arg-type]
        status=ticket.status,
        merged_into=merged_into.ticket_no if merged_into else None,
        priority=ticket.priority,  # type: ignore[arg-type]
        account_no=customer.account_no if customer else None,
        address=ticket.address or (customer.address if customer else None),
        description=ticket.description,
        channel=ticket.channel,
        created_at=local(ticket.created_at),  # type: ignore[arg-type]
        arrival_deadline=local(ticket.arrival_deadline),
        restore_deadline=local(ticket.restore_deadline),
        contact_deadline=local(ticket.contact_deadline),
        answer_deadline=local(ticket.answer_deadline),
        worker=_contact(worker),
        backup=_contact(backup),
        outage_id=ticket.outage_id,
        resolution=ticket.resolution,
        rating=ticket.rating,
        photos=[p.media_id or p.url or "" for p in photos],
        timeline=[TimelineItem(type=e.type, at=local(e.at), actor=e.actor, note=e.note) for e in events],  # type: ignore[arg-type]
    )
