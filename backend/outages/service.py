"""Outage pool service: publish, update, restore, which outages cover a customer, and the pool's
side of the faults that 研判 finds (backend/faults decides when; this module keeps the pool).

Who hears of an outage: a published one (source `dispatcher`) tells every customer in its scope,
through the topology (a feeder covers its transformers' customers); a fault found by 研判 (source
`reports` or `device`) tells its subscribers: the customers who reported it, and those we told of it
first (a device saw it, or it was confirmed), who are subscribed when told. Each customer gets one
outbox row per step, keyed `outage:<id>:<step>:<customer id>`, so republishing never repeats.
After the restoration, those who wrote to us are asked whether their power is back (the push is a
prompt); the others are told. Cancelling an announced outage withdraws its notices not yet sent and
tells everyone it is off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, or_, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import Settings
from backend.core.db import skip_locked
from backend.core.errors import Conflict, NotFound
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.notifications.outbox import enqueue, enqueue_to_customers, withdraw
from backend.outages.enums import OutageStatus
from backend.outages.models import Outage, OutageScope, OutageSubscription
from backend.outages.schemas import OutageBrief, OutageCreate, OutageRead, OutageUpdate
from backend.tickets import service as tickets
from backend.topology import service as topology
from backend.topology.models import Feeder, Transformer

logger = logging.getLogger(__name__)

KIND_LABELS = {
    "planned": "计划停电",
    "temporary": "临时停电",
    "fault": "故障停电",
    "arrears": "欠费停电",
    "orderly": "有序用电",
}
NOTICE_AHEAD = {"planned": timedelta(days=7), "temporary": timedelta(hours=24)}
REMINDER_AHEAD = timedelta(days=1)
#: an outage that no longer changes
TERMINAL = tuple(
    status.value
    for status in (OutageStatus.restored, OutageStatus.cancelled, OutageStatus.dismissed, OutageStatus.merged)
)
#: the power is off (or believed off) now
LIVE = (OutageStatus.active.value, OutageStatus.suspected.value)
#: what a customer is told of a suspected fault until a worker confirms its cause
SUSPECTED_CAUSES = {"transformer": "供电设备故障，正在排查", "feeder": "线路故障，正在排查"}


def create_outage(
    session: Session, data: OutageCreate, *, notice_ahead: Mapping[str, timedelta] = NOTICE_AHEAD
) -> Outage:
    """Publish an outage; an announced one is noticed `notice_ahead[kind]` before it starts
    (`notices.notice_ahead(settings)`: PLANNED/TEMPORARY notice settings)."""
    moment = clock.now()
    outage = Outage(
        kind=data.kind,
        cause=data.cause,
        status=(OutageStatus.active if data.starts_at <= moment else OutageStatus.announced).value,
        source="dispatcher",
        starts_at=data.starts_at,
        estimated_restore_at=data.estimated_restore_at,
        estimate_version=0,
        created_at=moment,
        updated_at=moment,
    )
    session.add(outage)
    session.flush()
    scopes = [
        OutageScope(outage_id=outage.id, feeder_id=topology.get_feeder(session, c).id)
        for c in dict.fromkeys(data.feeder_codes)
    ]
    scopes += [
        OutageScope(outage_id=outage.id, transformer_id=topology.get_transformer(session, c).id)
        for c in dict.fromkeys(data.transformer_codes)
    ]
    scopes += [
        OutageScope(outage_id=outage.id, customer_id=customers.get_customer(session, a).id)
        for a in dict.fromkeys(data.account_nos)
    ]
    session.add_all(scopes)
    session.flush()
    if outage.status == OutageStatus.active.value:
        _notify(session, outage, "started", "outage_started", urgent=True)
    else:
        _announce(session, outage, notice_ahead.get(outage.kind, timedelta(0)))
    logger.info("outage %s published: %s, %s scope items", outage.id, outage.kind, len(scopes))
    return outage


def get_outage(session: Session, outage_id: int, *, lock: bool = False) -> Outage:
    """The outage; with `lock`, its row is held until the transaction ends (a change of its status)."""
    query = select(Outage).where(Outage.id == outage_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    outage = session.scalar(query)
    if outage is None:
        raise NotFound(f"停电信息 {outage_id} 不存在", code="outage_not_found")
    return outage


def update_outage(session: Session, outage_id: int, data: OutageUpdate) -> Outage:
    outage = get_outage(session, outage_id, lock=True)
    if outage.status in TERMINAL:
        raise Conflict("该停电已结束或取消，不能再修改", code="outage_closed")
    if outage.status == OutageStatus.suspected.value and data.status in (
        OutageStatus.active.value,
        OutageStatus.cancelled.value,
    ):
        raise Conflict("疑似故障请由现场人员或调度确认（confirm）或排除（dismiss）", code="use_confirm_or_dismiss")
    if data.status == OutageStatus.active.value and outage.status != OutageStatus.announced.value:
        raise Conflict("该停电已在进行中", code="illegal_transition")
    moment = clock.now()
    if data.cause:
        outage.cause = data.cause
    if data.estimated_restore_at and data.estimated_restore_at != outage.estimated_restore_at:
        set_estimate(session, outage, data.estimated_restore_at, notify=data.status not in TERMINAL)
    if data.status == OutageStatus.active.value:
        start(session, outage)
    elif data.status == OutageStatus.restored.value:
        restore(session, outage)
    elif data.status == OutageStatus.cancelled.value:
        if outage.status == OutageStatus.announced.value:
            _call_off(session, outage)
        outage.status = OutageStatus.cancelled.value
    outage.updated_at = moment
    session.flush()
    return outage


def set_estimate(session: Session, outage: Outage, estimated_restore_at: datetime, *, notify: bool = True) -> None:
    """A new estimated restoration; everyone told of the outage hears it once (per estimate)."""
    if estimated_restore_at <= outage.starts_at:
        raise Conflict("预计恢复时间不能早于停电开始时间", code="invalid_estimate")
    outage.estimated_restore_at = estimated_restore_at
    outage.estimate_version += 1
    outage.updated_at = clock.now()
    if notify:
        urgent = outage.status in LIVE
        _notify(session, outage, f"estimate{outage.estimate_version}", "outage_estimate_changed", urgent=urgent)


def start(session: Session, outage: Outage) -> None:
    """An announced outage begins: its customers get the "停电开始" notice."""
    outage.status = OutageStatus.active.value
    outage.updated_at = clock.now()
    template = "outage_started" if outage.kind == "fault" else "outage_planned_started"
    _notify(session, outage, "started", template, urgent=True)


def restore(session: Session, outage: Outage, *, at: datetime | None = None) -> None:
    """Power is back: those who wrote to us are asked whether it is back for them, the others told."""
    moment = clock.now()
    outage.status = OutageStatus.restored.value
    outage.restored_at = min(at, moment) if at else moment
    outage.updated_at = moment
    own = tickets.merged_numbers(session, outage.fault_ticket_no) if outage.fault_ticket_no else {}
    reporters = select(OutageSubscription.customer_id).where(
        OutageSubscription.outage_id == outage.id, OutageSubscription.reported.is_(True)
    )
    # Each reporter's question is about their own report: its merged ticket, where it had one.
    asked = _notify(
        session, outage, "restored", "outage_restored_check", urgent=True, ids=reporters,
        extra=lambda customer_id: {"ticket_no": own.get(customer_id)},
    )  # fmt: skip
    told = _notify(session, outage, "restored", "outage_restored", urgent=True)
    logger.info("outage %s restored: %s asked whether power is back, %s told", outage.id, asked, told - asked)


def _scope_customer_ids(outage_id: int) -> Any:
    """A SELECT of the ids of every customer the outage covers, each once."""
    mine = OutageScope.outage_id == outage_id
    by_customer = select(OutageScope.customer_id).where(mine, OutageScope.customer_id.is_not(None))
    scoped_transformers = select(OutageScope.transformer_id).where(mine, OutageScope.transformer_id.is_not(None))
    scoped_feeders = select(OutageScope.feeder_id).where(mine, OutageScope.feeder_id.is_not(None))
    by_transformer = select(Customer.id).where(Customer.transformer_id.in_(scoped_transformers))
    by_feeder = select(Customer.id).where(
        Customer.transformer_id.in_(topology.transformer_ids_on_feeders(scoped_feeders))
    )
    return union(by_customer, by_transformer, by_feeder)


def covered_count(session: Session, outage_id: int) -> int:
    """How many customers the outage covers."""
    ids = _scope_customer_ids(outage_id).subquery()
    return int(session.scalar(select(func.count()).select_from(ids)) or 0)


def covered_counts(session: Session, outage_ids: list[int]) -> dict[int, int]:
    """`covered_count` of many outages in one query (a customer counted once per outage)."""
    if not outage_ids:
        return {}
    listed = OutageScope.outage_id.in_(outage_ids)
    by_customer = select(OutageScope.outage_id, OutageScope.customer_id.label("customer_id")).where(
        listed, OutageScope.customer_id.is_not(None)
    )
    by_transformer = (
        select(OutageScope.outage_id, Customer.id)
        .join(Customer, Customer.transformer_id == OutageScope.transformer_id)
        .where(listed)
    )
    by_feeder = (
        select(OutageScope.outage_id, Customer.id)
        .join(Transformer, Transformer.feeder_id == OutageScope.feeder_id)
        .join(Customer, Customer.transformer_id == Transformer.id)
        .where(listed)
    )
    covered = union(by_customer, by_transformer, by_feeder).subquery()
    rows = session.execute(select(covered.c.outage_id, func.count()).group_by(covered.c.outage_id))
    return dict.fromkeys(outage_ids, 0) | {outage_id: int(count) for outage_id, count in rows}


def _subscriber_ids(outage_id: int) -> Select[Any]:
    return select(OutageSubscription.customer_id).where(OutageSubscription.outage_id == outage_id)


def _audience_ids(outage: Outage) -> Any:
    """Who hears of the outage's steps: its whole scope when published, its subscribers when 研判 found it."""
    return _scope_customer_ids(outage.id) if outage.source == "dispatcher" else _subscriber_ids(outage.id)


def affected_customer_ids(session: Session, outage_id: int) -> list[int]:
    return sorted(session.scalars(_scope_customer_ids(outage_id)))


def _params(outage: Outage, customer: Any) -> dict[str, Any]:
    """The notice's values for `customer` (a Customer, or a row with its id, account, name, address)."""
    return {
        "outage_id": outage.id,
        "kind": outage.kind,
        "kind_label": KIND_LABELS[outage.kind],
        "cause": outage.cause,
        "starts_at": iso(outage.starts_at),
        "estimated_restore_at": iso(outage.estimated_restore_at),
        "restored_at": iso(outage.restored_at),
        "fault_ticket_no": outage.fault_ticket_no,
        "account_no": customer.account_no,
        "customer_name": customer.name,
        "address": customer.address,
    }


def _notify(
    session: Session,
    outage: Outage,
    step: str,
    template: str,
    *,
    urgent: bool,
    at: datetime | None = None,
    ids: Any = None,
    extra: Any = None,
) -> int:
    """One push of `template` to each customer of `ids` (a SELECT of customer ids; default the
    outage's audience), keyed by the step; `extra(customer id)` adds values per customer."""
    count = enqueue_to_customers(
        session,
        dedup_prefix=f"outage:{outage.id}:{step}:",
        template=template,
        params=(
            (row.id, _params(outage, row) | (extra(row.id) if extra else {}))
            for row in _customer_rows(session, _audience_ids(outage) if ids is None else ids)
        ),
        urgent=urgent,
        not_before=at,
    )
    logger.info("outage %s: %s pushes for step %s", outage.id, count, step)
    return count


_CUSTOMER_COLUMNS = (Customer.id, Customer.account_no, Customer.name, Customer.address)
_ID_BATCH = 500


def _customer_rows(session: Session, ids: Any) -> Iterator[Any]:
    """The customers of `ids`: a SELECT of customer ids, or a list of them."""
    if not isinstance(ids, list):
        yield from session.execute(select(*_CUSTOMER_COLUMNS).where(Customer.id.in_(select(ids.subquery().c[0]))))
        return
    for start in range(0, len(ids), _ID_BATCH):
        yield from session.execute(select(*_CUSTOMER_COLUMNS).where(Customer.id.in_(ids[start : start + _ID_BATCH])))


def _announce(session: Session, outage: Outage, ahead: timedelta) -> None:
    """Planned-style notices: one when published (not earlier than the notice period), one the day before."""
    moment = clock.now()
    _notify(
        session,
        outage,
        "notice",
        "outage_planned_notice",
        urgent=False,
        at=max(moment, outage.starts_at - ahead),
    )
    reminder_at = outage.starts_at - REMINDER_AHEAD
    if reminder_at > moment and ahead > REMINDER_AHEAD:
        _notify(session, outage, "reminder", "outage_planned_notice", urgent=False, at=reminder_at)


def _call_off(session: Session, outage: Outage) -> None:
    """An announced outage is cancelled: the notices not sent yet are withdrawn (first, so that the
    cancellation itself is not), and every affected customer is told that power stays on."""
    withdrawn = withdraw(session, dedup_prefix=f"outage:{outage.id}:", reason="outage cancelled")
    logger.info("outage %s cancelled: %s pending notices withdrawn", outage.id, withdrawn)
    _notify(session, outage, "cancelled", "outage_cancelled", urgent=False)


# Built once (with bound parameters): asked on every outage question and every repair report.
_COVERING = (
    select(Outage)
    .where(
        Outage.id.in_(
            select(OutageScope.outage_id).where(
                or_(
                    OutageScope.customer_id == bindparam("customer_id"),
                    OutageScope.transformer_id == bindparam("transformer_id"),
                    OutageScope.feeder_id == topology.feeder_id_of(bindparam("transformer_id")),
                )
            )
        )
    )
    .where(
        or_(
            Outage.status.in_(LIVE),
            (Outage.status == OutageStatus.announced.value) & (Outage.estimated_restore_at > bindparam("now")),
        )
    )
    .order_by(Outage.starts_at)
)


def covering(session: Session, customer: Customer) -> list[Outage]:
    """Outages that cover the customer now (suspected faults included) or are announced for later,
    soonest first."""
    found = session.scalars(
        _COVERING, {"customer_id": customer.id, "transformer_id": customer.transformer_id, "now": clock.now()}
    )
    return list(found)


def covering_now(session: Session, customer: Customer) -> Outage | None:
    """The outage that explains a loss of power at this moment, if any."""
    moment = clock.now()
    for outage in covering(session, customer):
        if outage.starts_at <= moment:
            return outage
    return None


def covering_transformer_now(session: Session, transformer_id: int) -> Outage | None:
    """The outage that explains a transformer's loss of power now (its own or its feeder's), if any."""
    moment = clock.now()
    found = session.scalars(_COVERING, {"customer_id": None, "transformer_id": transformer_id, "now": moment})
    return next((outage for outage in found if outage.starts_at <= moment), None)


def live_on_feeder(session: Session, feeder_id: int) -> Outage | None:
    """The outage in progress whose scope is the whole feeder, if any (the oldest)."""
    moment = clock.now()
    query = (
        select(Outage)
        .join(OutageScope, OutageScope.outage_id == Outage.id)
        .where(OutageScope.feeder_id == feeder_id, Outage.starts_at <= moment)
        .where(
            or_(
                Outage.status.in_(LIVE),
                (Outage.status == OutageStatus.announced.value) & (Outage.estimated_restore_at > moment),
            )
        )
        .order_by(Outage.created_at)
        .limit(1)
    )
    return session.scalar(query)


def suspected_on_feeder(session: Session, feeder_id: int, *, since: datetime | None) -> list[Outage]:
    """Suspected faults of single transformers of the feeder (found since `since`), oldest first."""
    query = (
        select(Outage)
        .join(OutageScope, OutageScope.outage_id == Outage.id)
        .join(Transformer, Transformer.id == OutageScope.transformer_id)
        .where(
            Transformer.feeder_id == feeder_id, Outage.status == OutageStatus.suspected.value, Outage.kind == "fault"
        )
        .order_by(Outage.created_at, Outage.id)
    )
    if since is not None:
        query = query.where(Outage.created_at >= since)
    return list(session.scalars(query))


def open_fault(
    session: Session,
    *,
    source: str,
    starts_at: datetime,
    estimated_restore_at: datetime,
    transformer_id: int | None = None,
    feeder_id: int | None = None,
) -> Outage:
    """A suspected fault of one transformer or one feeder, in the pool from now on."""
    moment = clock.now()
    outage = Outage(
        kind="fault",
        cause=SUSPECTED_CAUSES["transformer" if transformer_id else "feeder"],
        status=OutageStatus.suspected.value,
        source=source,
        starts_at=min(starts_at, moment),
        estimated_restore_at=estimated_restore_at,
        estimate_version=0,
        created_at=moment,
        updated_at=moment,
    )
    session.add(outage)
    session.flush()
    session.add(OutageScope(outage_id=outage.id, transformer_id=transformer_id, feeder_id=feeder_id))
    session.flush()
    logger.info("suspected fault %s (%s) on %s", outage.id, source, transformer_id or f"feeder {feeder_id}")
    return outage


def widen_to_feeder(session: Session, outage: Outage, feeder_id: int) -> None:
    """A suspected transformer fault turns out to be its feeder's: its scope becomes the feeder."""
    session.execute(delete(OutageScope).where(OutageScope.outage_id == outage.id))
    session.add(OutageScope(outage_id=outage.id, feeder_id=feeder_id))
    if outage.status == OutageStatus.suspected.value:
        outage.cause = SUSPECTED_CAUSES["feeder"]
    outage.updated_at = clock.now()
    session.flush()


def merge_into(session: Session, outage: Outage, root: Outage) -> list[int]:
    """A suspected fault absorbed by a wider one: it leaves the pool and its subscribers follow
    `root` (a reporter stays one). Returns the customers who had reported it."""
    outage.status = OutageStatus.merged.value
    outage.merged_into_id = root.id
    outage.updated_at = clock.now()
    moved = session.execute(
        select(OutageSubscription.customer_id, OutageSubscription.reported).where(
            OutageSubscription.outage_id == outage.id
        )
    ).all()
    for customer_id, reported in moved:
        _add_subscription(session, root.id, customer_id, reported=reported)
    session.flush()
    return [customer_id for customer_id, reported in moved if reported]


def _add_subscription(session: Session, outage_id: int, customer_id: int, *, reported: bool) -> None:
    row = session.scalar(
        select(OutageSubscription).where(
            OutageSubscription.outage_id == outage_id, OutageSubscription.customer_id == customer_id
        )
    )
    if row is None:
        session.add(
            OutageSubscription(outage_id=outage_id, customer_id=customer_id, created_at=clock.now(), reported=reported)
        )
    elif reported and not row.reported:
        row.reported = True


def subscribe(session: Session, outage: Outage, customer: Customer, *, reported: bool = True) -> bool:
    """The customer follows the outage (a reporter is asked after the restoration whether power is
    back). False, and nothing written, when the outage has left the pool meanwhile: its row is held
    shared while the customer joins, so a confirmation or dismissal that runs at the same time sees them."""
    status = session.scalar(select(Outage.status).where(Outage.id == outage.id).with_for_update(read=True))
    if status in TERMINAL:
        return False
    _add_subscription(session, outage.id, customer.id, reported=reported)
    session.flush()
    return True


def tell_unsubscribed(
    session: Session, outage: Outage, *, step: str, template: str, transformer_id: int | None = None
) -> int:
    """Tell every customer of the outage's scope (or only of one transformer in it) who has not
    heard of it yet, and subscribe them: we told them first. Returns how many were told."""
    in_scope = (
        select(Customer.id).where(Customer.transformer_id == transformer_id)
        if transformer_id is not None
        else _scope_customer_ids(outage.id)
    )
    told = list(session.scalars(select(in_scope.subquery().c[0]).except_(_subscriber_ids(outage.id))))
    if not told:
        return 0
    _notify(session, outage, step, template, urgent=True, ids=told)
    moment = clock.now()
    rows = [{"outage_id": outage.id, "customer_id": cid, "created_at": moment, "reported": False} for cid in told]
    # A customer who reports at this moment may have joined since: theirs stands.
    session.execute(_INSERT_SUBSCRIPTIONS[session.get_bind().dialect.name], rows)
    return len(told)


def _insert_ignoring_subscribed(insert_fn: Any) -> Any:
    return insert_fn(OutageSubscription).on_conflict_do_nothing(index_elements=["outage_id", "customer_id"])


_INSERT_SUBSCRIPTIONS = {
    "postgresql": _insert_ignoring_subscribed(postgresql.insert),
    "sqlite": _insert_ignoring_subscribed(sqlite.insert),
}


def confirm(session: Session, outage: Outage, *, cause: str, estimated_restore_at: datetime) -> None:
    """A suspected fault confirmed on site: its subscribers hear the cause and the estimate, and the
    rest of its scope is told of it (and subscribed): it is a known outage now."""
    outage.status = OutageStatus.active.value
    outage.cause = cause
    outage.estimated_restore_at = estimated_restore_at
    outage.estimate_version += 1
    outage.updated_at = clock.now()
    session.flush()
    _notify(session, outage, "confirmed", "fault_confirmed", urgent=True)
    told = tell_unsubscribed(session, outage, step="confirmed", template="outage_started")
    logger.info("fault %s confirmed: %s more customers told", outage.id, told)


def dismiss(session: Session, outage: Outage) -> list[int]:
    """A suspected fault that is not one: it leaves the pool, and those we had told of it without
    their asking hear that it is cleared. Returns the customers who had reported it."""
    outage.status = OutageStatus.dismissed.value
    outage.updated_at = clock.now()
    session.flush()
    told = select(OutageSubscription.customer_id).where(
        OutageSubscription.outage_id == outage.id, OutageSubscription.reported.is_(False)
    )
    _notify(session, outage, "dismissed", "fault_dismissed_notice", urgent=False, ids=told)
    reporters = select(OutageSubscription.customer_id).where(
        OutageSubscription.outage_id == outage.id, OutageSubscription.reported.is_(True)
    )
    return sorted(session.scalars(reporters))


def start_due(session: Session, *, after_id: int, limit: int, now: datetime | None = None) -> int | None:
    """One page of the periodic job: announced outages whose start has come begin (with their
    "停电开始" notice). The outages are read with `skip_locked`: one being changed right now (called
    off, say) is left to the next run, and one changed meanwhile is read again, so a cancelled outage
    is never started. Returns the last id looked at, None after the last page."""
    moment = now or clock.now()
    page = session.scalars(
        skip_locked(
            session,
            select(Outage)
            .where(Outage.status == OutageStatus.announced.value, Outage.starts_at <= moment, Outage.id > after_id)
            .order_by(Outage.id)
            .limit(limit),
        )
    ).all()
    for outage in page:
        if outage.estimated_restore_at <= moment:  # over before anybody noticed: nothing to start
            continue
        start(session, outage)
        logger.info("outage %s started at its time", outage.id)
    return page[-1].id if len(page) == limit else None


def ask_for_estimates(
    session: Session, settings: Settings, *, after_id: int, limit: int, now: datetime | None = None
) -> int | None:
    """One page of the periodic job: outages in progress whose estimated restoration has passed ask
    the fault ticket's worker and the duty dispatchers (else the cells' supervisors) for a new
    estimate, once per estimate. The customers hear the new one when it is set (`set_estimate`)."""
    moment = now or clock.now()
    page = session.scalars(
        select(Outage)
        .where(Outage.status.in_(LIVE), Outage.estimated_restore_at <= moment, Outage.id > after_id)
        .order_by(Outage.id)
        .limit(limit)
    ).all()
    for outage in page:
        params = {
            "outage_id": outage.id,
            "area": scope_label(session, outage),
            "cause": outage.cause,
            "estimated_restore_at": iso(outage.estimated_restore_at),
            "affected": len(affected_customer_ids(session, outage.id)),
            "ticket_no": outage.fault_ticket_no,
        }
        key = f"outage:{outage.id}:overdue{outage.estimate_version}"
        worker_id = tickets.get_ticket(session, outage.fault_ticket_no).worker_id if outage.fault_ticket_no else None
        recipients: list[dict[str, Any]] = [{"worker_id": worker_id}] if worker_id else []
        if settings.duty_dispatchers:
            recipients += [{"wecom_user_id": user} for user in settings.duty_dispatchers]
        else:
            recipients += [{"worker_id": w.id} for w in supervisors_of(session, outage) if w.id != worker_id]
        for recipient in recipients:
            suffix = f"w{recipient['worker_id']}" if "worker_id" in recipient else f"u{recipient['wecom_user_id']}"
            enqueue(
                session, dedup_key=f"{key}:{suffix}", template="outage_estimate_overdue", params=params,
                urgent=True, **recipient,
            )  # fmt: skip
    return page[-1].id if len(page) == limit else None


def scope_ids(session: Session, outage: Outage) -> tuple[list[int], list[int]]:
    """The feeders and the transformers named in the outage's scope (not those a feeder reaches)."""
    scopes = session.scalars(select(OutageScope).where(OutageScope.outage_id == outage.id)).all()
    return sorted(s.feeder_id for s in scopes if s.feeder_id), sorted(
        s.transformer_id for s in scopes if s.transformer_id
    )


def feeder_ids(session: Session, outage: Outage) -> list[int]:
    """The feeders whose customers the outage reaches, in id order."""
    transformers = _scope_transformer_ids(outage.id).subquery()
    query = select(Transformer.feeder_id).where(Transformer.id.in_(select(transformers.c[0]))).distinct()
    return sorted(session.scalars(query))


def _scope_transformer_ids(outage_id: int) -> Any:
    """A SELECT of the transformers the outage's scope reaches (a customer's, a feeder's)."""
    mine = OutageScope.outage_id == outage_id
    return union(
        select(OutageScope.transformer_id).where(mine, OutageScope.transformer_id.is_not(None)),
        topology.transformer_ids_on_feeders(select(OutageScope.feeder_id).where(mine)),
        select(Customer.transformer_id).where(
            Customer.id.in_(select(OutageScope.customer_id).where(mine, OutageScope.customer_id.is_not(None)))
        ),
    )


def grid_cell_ids(session: Session, outage: Outage) -> set[int]:
    """The grid cells whose transformers the outage reaches."""
    transformers = _scope_transformer_ids(outage.id).subquery()
    query = select(Transformer.grid_cell_id).where(Transformer.id.in_(select(transformers.c[0]))).distinct()
    return set(session.scalars(query))


def supervisors_of(session: Session, outage: Outage) -> list[Any]:
    found = []
    for cell_id in sorted(grid_cell_ids(session, outage)):
        found += [w for w in topology.workers_of_cell(session, cell_id) if w.is_supervisor]
    return found


def scope_label(session: Session, outage: Outage) -> str:
    """The outage's scope as people name it: its feeders and transformers, or how many households."""
    scopes = session.scalars(select(OutageScope).where(OutageScope.outage_id == outage.id)).all()
    feeders = [s.feeder_id for s in scopes if s.feeder_id]
    transformers = [s.transformer_id for s in scopes if s.transformer_id]
    names = list(session.scalars(select(Feeder.name).where(Feeder.id.in_(feeders)).order_by(Feeder.id)))
    names += list(
        session.scalars(select(Transformer.name).where(Transformer.id.in_(transformers)).order_by(Transformer.id))
    )
    households = sum(1 for s in scopes if s.customer_id)
    if households:
        names.append(f"{households}户")
    return "、".join(names[:3]) + ("等" if len(names) > 3 else "")


def iso(moment: datetime | None) -> str | None:
    local = clock.to_local(moment)
    return local.isoformat() if local else None


def effective_status(outage: Outage) -> str:
    if outage.status == OutageStatus.announced.value and outage.starts_at <= clock.now():
        return OutageStatus.active.value
    return outage.status


def brief(outage: Outage) -> OutageBrief:
    return OutageBrief(
        id=outage.id,
        kind=outage.kind,  # type: ignore[arg-type]
        cause=outage.cause,
        status=effective_status(outage),  # type: ignore[arg-type]
        source=outage.source,  # type: ignore[arg-type]
        starts_at=clock.to_local(outage.starts_at),  # type: ignore[arg-type]
        estimated_restore_at=clock.to_local(outage.estimated_restore_at),  # type: ignore[arg-type]
        ticket_no=outage.fault_ticket_no,
    )


def read(session: Session, outage: Outage, *, detail: bool) -> OutageRead:
    base = brief(outage).model_dump()
    extra: dict[str, Any] = {"restored_at": clock.to_local(outage.restored_at)}
    if detail:
        scopes = list(session.scalars(select(OutageScope).where(OutageScope.outage_id == outage.id)))
        extra["feeder_codes"] = [topology_code(session, "feeder", s.feeder_id) for s in scopes if s.feeder_id]
        extra["transformer_codes"] = [
            topology_code(session, "transformer", s.transformer_id) for s in scopes if s.transformer_id
        ]
        extra["account_nos"] = [
            customers.customer_by_id(session, s.customer_id).account_no for s in scopes if s.customer_id
        ]
        extra["affected_customers"] = len(affected_customer_ids(session, outage.id))
    return OutageRead(**base, **extra)


def topology_code(session: Session, kind: str, row_id: int) -> str:
    if kind == "feeder":
        return topology.feeder_by_id(session, row_id).code
    return topology.transformer_by_id(session, row_id).code


def list_outages(session: Session, *, open_only: bool, limit: int) -> list[Outage]:
    query = select(Outage).order_by(Outage.starts_at.desc()).limit(limit)
    if open_only:
        query = query.where(Outage.status.in_((OutageStatus.announced.value, *LIVE)))
    return list(session.scalars(query))


def follow(session: Session, outage: Outage, customer_ids: list[int]) -> None:
    """Customers whose reports the fault absorbed follow it, as reporters."""
    for customer_id in dict.fromkeys(customer_ids):
        _add_subscription(session, outage.id, customer_id, reported=True)
    session.flush()


def notify_reporters(
    session: Session,
    outage: Outage,
    *,
    step: str,
    template: str,
    params: dict[str, Any] | None = None,
    customer_ids: list[int] | None = None,
) -> int:
    """A push to those who reported the outage (or to `customer_ids` of them): a step of its fault
    ticket, for example, with that ticket's `params`."""
    reporters = (
        customer_ids
        if customer_ids is not None
        else select(OutageSubscription.customer_id).where(
            OutageSubscription.outage_id == outage.id, OutageSubscription.reported.is_(True)
        )
    )
    return _notify(
        session, outage, step, template, urgent=True, ids=reporters, extra=(lambda _: params) if params else None
    )
