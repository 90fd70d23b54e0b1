"""Outage pool service: publish, update, restore, and which outages cover a customer.

Every affected customer (through the topology: a feeder covers its transformers' customers) gets
one outbox row per step, keyed `outage:<id>:<step>:<customer id>`, so republishing never repeats.
Cancelling an announced outage withdraws its notices not yet sent and tells everyone it is off.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, union
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.errors import Conflict, NotFound
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.notifications.outbox import enqueue_to_customers, withdraw
from backend.outages.models import Outage, OutageScope, OutageSubscription
from backend.outages.schemas import OutageBrief, OutageCreate, OutageRead, OutageUpdate
from backend.topology import service as topology

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
TERMINAL = ("restored", "cancelled")


def create_outage(
    session: Session, data: OutageCreate, *, notice_ahead: Mapping[str, timedelta] = NOTICE_AHEAD
) -> Outage:
    """Publish an outage; an announced one is noticed `notice_ahead[kind]` before it starts
    (`notices.notice_ahead(settings)`: PLANNED/TEMPORARY notice settings)."""
    moment = clock.now()
    outage = Outage(
        kind=data.kind,
        cause=data.cause,
        status="active" if data.starts_at <= moment else "announced",
        starts_at=data.starts_at,
        estimated_restore_at=data.estimated_restore_at,
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
    if outage.status == "active":
        _notify(session, outage, "started", "outage_started", urgent=True)
    else:
        _announce(session, outage, notice_ahead.get(outage.kind, timedelta(0)))
    logger.info("outage %s published: %s, %s scope items", outage.id, outage.kind, len(scopes))
    return outage


def get_outage(session: Session, outage_id: int) -> Outage:
    outage = session.get(Outage, outage_id)
    if outage is None:
        raise NotFound(f"停电信息 {outage_id} 不存在", code="outage_not_found")
    return outage


def update_outage(session: Session, outage_id: int, data: OutageUpdate) -> Outage:
    outage = get_outage(session, outage_id)
    if outage.status in TERMINAL:
        raise Conflict("该停电已结束或取消，不能再修改", code="outage_closed")
    if data.status == "active" and outage.status != "announced":
        raise Conflict("该停电已在进行中", code="illegal_transition")
    moment = clock.now()
    if data.cause:
        outage.cause = data.cause
    if data.estimated_restore_at and data.estimated_restore_at != outage.estimated_restore_at:
        if data.estimated_restore_at <= outage.starts_at:
            raise Conflict("预计恢复时间不能早于停电开始时间", code="invalid_estimate")
        outage.estimated_restore_at = data.estimated_restore_at
        outage.estimate_version += 1
        if data.status not in TERMINAL:
            _notify(
                session,
                outage,
                f"estimate{outage.estimate_version}",
                "outage_estimate_changed",
                urgent=outage.status == "active",
            )
    if data.status == "active":
        outage.status = "active"
        _notify(session, outage, "started", "outage_started", urgent=True)
    elif data.status == "restored":
        outage.status = "restored"
        outage.restored_at = moment
        _notify(session, outage, "restored", "outage_restored", urgent=True)
    elif data.status == "cancelled":
        if outage.status == "announced":
            _call_off(session, outage)
        outage.status = "cancelled"
    outage.updated_at = moment
    session.flush()
    return outage


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
        "account_no": customer.account_no,
        "customer_name": customer.name,
        "address": customer.address,
    }


def _notify(
    session: Session, outage: Outage, step: str, template: str, *, urgent: bool, at: datetime | None = None
) -> int:
    ids = _scope_customer_ids(outage.id).subquery()
    customers_in_scope = session.execute(
        select(Customer.id, Customer.account_no, Customer.name, Customer.address).where(
            Customer.id.in_(select(ids.c[0]))
        )
    )
    count = enqueue_to_customers(
        session,
        dedup_prefix=f"outage:{outage.id}:{step}:",
        template=template,
        params=((row.id, _params(outage, row)) for row in customers_in_scope),
        urgent=urgent,
        not_before=at,
    )
    logger.info("outage %s: %s pushes for step %s", outage.id, count, step)
    return count


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
            Outage.status == "active",
            (Outage.status == "announced") & (Outage.estimated_restore_at > bindparam("now")),
        )
    )
    .order_by(Outage.starts_at)
)


def covering(session: Session, customer: Customer) -> list[Outage]:
    """Outages that cover the customer now or are announced for later, soonest first."""
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


def subscribe(session: Session, outage: Outage, customer: Customer) -> None:
    exists = session.scalar(
        select(OutageSubscription.id).where(
            OutageSubscription.outage_id == outage.id, OutageSubscription.customer_id == customer.id
        )
    )
    if exists is None:
        session.add(OutageSubscription(outage_id=outage.id, customer_id=customer.id, created_at=clock.now()))
        session.flush()


def iso(moment: datetime | None) -> str | None:
    local = clock.to_local(moment)
    return local.isoformat() if local else None


def effective_status(outage: Outage) -> str:
    if outage.status == "announced" and outage.starts_at <= clock.now():
        return "active"
    return outage.status


def brief(outage: Outage) -> OutageBrief:
    return OutageBrief(
        id=outage.id,
        kind=outage.kind,  # type: ignore[arg-type]
        cause=outage.cause,
        starts_at=clock.to_local(outage.starts_at),  # type: ignore[arg-type]
        estimated_restore_at=clock.to_local(outage.estimated_restore_at),  # type: ignore[arg-type]
    )


def read(session: Session, outage: Outage, *, detail: bool) -> OutageRead:
    base = brief(outage).model_dump()
    extra: dict[str, Any] = {
        "status": effective_status(outage),
        "restored_at": clock.to_local(outage.restored_at),
    }
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
        query = query.where(Outage.status.in_(("announced", "active")))
    return list(session.scalars(query))
