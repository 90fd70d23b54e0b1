"""Hand-offs to people (转人工): the state machine and its conversation.

    waiting ──claim──► active ──release──► released   (back to the assistant, with a summary)
       │  ▲              │ ├──close────► closed
       │  └──transfer────┘ └──transfer──► active (another agent)
       ├──close──► closed
       └──cancel─► cancelled (the customer said "不用了"; also from active)
    unavailable, manager: decided at the request, never queued.

Every change is a guarded UPDATE (`… WHERE status = <expected> [AND agent_id = <holder>]`), so of
two agents claiming one conversation exactly one wins, and a reply, release or transfer that
arrives after the conversation changed hands is refused, with nothing sent. A reply is one line and
one push, keyed by the console's `client_key`: a retried reply is answered with the first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import Settings
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.handoffs import delivery, queue
from backend.handoffs.enums import OPEN, Event, HandoffStatus, LineKind, UnavailableReason
from backend.handoffs.models import Handoff, HandoffLine
from backend.handoffs.schemas import HandoffCreate, TranscriptLine
from backend.handoffs.wechat_kf import KfDesk
from backend.staff import service as staff
from backend.staff.models import Staff
from backend.staff.roles import AGENT_ROLES, SUPERVISION_ROLES, StaffRole

logger = logging.getLogger(__name__)

OPEN_VALUES = [s.value for s in OPEN]


@dataclass(frozen=True)
class Actor:
    """Who acts on a hand-off: a person (their staff id and role), or a process with the admin token."""

    staff_id: int | None
    role: StaffRole | None
    label: str

    @property
    def supervises(self) -> bool:
        return self.staff_id is None or self.role in SUPERVISION_ROLES


# --- reading ------------------------------------------------------------------------------------


def get(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFound(f"转人工记录 {handoff_id} 不存在", code="handoff_not_found")
    return handoff


def open_for_sender(session: Session, channel: str, sender_id: str) -> Handoff | None:
    return session.scalar(
        select(Handoff).where(
            Handoff.channel == channel, Handoff.sender_id == sender_id, Handoff.status.in_(OPEN_VALUES)
        )
    )


def list_for_sender(session: Session, sender_id: str, *, active_only: bool) -> list[Handoff]:
    query = select(Handoff).where(Handoff.sender_id == sender_id).order_by(Handoff.id.desc())
    if active_only:
        query = query.where(Handoff.status.in_(OPEN_VALUES))
    return list(session.scalars(query.limit(20)))


def list_by_status(session: Session, status: str, *, limit: int = 200) -> list[Handoff]:
    """`waiting` in queue order, `active` oldest first, `closed` (every ended one) newest first."""
    query = select(Handoff)
    if status == "closed":
        query = query.where(Handoff.status.not_in(OPEN_VALUES)).order_by(Handoff.id.desc())
    else:
        query = query.where(Handoff.status == status).order_by(Handoff.id)
    return list(session.scalars(query.limit(limit)))


def lines(session: Session, handoff_id: int) -> list[HandoffLine]:
    return list(
        session.scalars(select(HandoffLine).where(HandoffLine.handoff_id == handoff_id).order_by(HandoffLine.id))
    )


def customers_of(session: Session, handoff: Handoff) -> list[Customer]:
    """The customer records behind the sender: the account they named, else those bound to the
    WeChat openid or having the SMS number."""
    if handoff.account_no:
        try:
            return [customers.get_customer(session, handoff.account_no)]
        except NotFound:
            return []
    if handoff.channel == "wechat":
        return customers.find_by_openid(session, handoff.sender_id)
    if handoff.channel == "sms":
        return customers.find_by_phone(session, handoff.sender_id)[:5]
    return []


# --- the customer's side (the assistant calls these) ---------------------------------------------


@dataclass(frozen=True)
class Requested:
    handoff: Handoff
    #: agents (or WeChat kf accounts) online and accepting when it was asked
    agents_online: int


def request(session: Session, settings: Settings, data: HandoffCreate, *, kf: KfDesk | None) -> Requested:
    """Queue the sender for a person, or say honestly why nobody can take them now.

    A sender already waiting or talking to an agent gets that hand-off (they keep their place).
    """
    existing = open_for_sender(session, data.channel, data.sender_id)
    if existing is not None:
        return Requested(existing, _online(session, settings, existing, kf))
    customer = customers.get_customer(session, data.account_no) if data.account_no else None
    now = clock.now()
    handoff = Handoff(
        channel=data.channel,
        sender_id=data.sender_id,
        account_no=data.account_no,
        reason=data.reason,
        target="queue",
        status=HandoffStatus.waiting.value,
        created_at=now,
        updated_at=now,
    )
    in_kf = kf is not None and data.channel == "wechat"
    online = 0 if in_kf else queue.capacity(session, settings).online
    if data.target == "manager" and customer is not None and customer.manager_phone and customer.manager_name:
        handoff.target = "manager"
        handoff.status = HandoffStatus.manager.value
        handoff.ended_at = now
    elif not queue.in_service_hours(settings):
        _unavailable(handoff, UnavailableReason.outside_hours, now)
    elif in_kf:
        assert kf is not None
        account, online = kf.choose_account()
        if account is None:
            _unavailable(handoff, UnavailableReason.no_agent_on_duty, now)
        else:
            handoff.status, handoff.kf_account, handoff.claimed_at = HandoffStatus.active.value, account, now
    elif online == 0:
        _unavailable(handoff, UnavailableReason.no_agent_on_duty, now)
    try:
        with session.begin_nested():
            session.add(handoff)
    except IntegrityError:  # a concurrent request of the same sender opened one first
        found = open_for_sender(session, data.channel, data.sender_id)
        if found is None:
            raise
        return Requested(found, _online(session, settings, found, kf))
    for line in data.transcript:
        _add_line(session, handoff, _kind(line), line.text, line.at)
    if handoff.status == HandoffStatus.manager.value:
        assert customer is not None
        handoff.manager_id = delivery.to_manager(
            session, handoff, customer, [(line.sender, line.text) for line in data.transcript]
        )
        _event(session, handoff, Event.queued, "已转交客户经理", None)
    elif handoff.kf_account is not None:
        assert kf is not None
        kf.open_session(handoff, [(line.sender, line.text) for line in data.transcript])
        _event(session, handoff, Event.kf_session, f"已转入微信客服系统（{handoff.kf_account}）", None)
    elif handoff.status == HandoffStatus.waiting.value:
        _event(session, handoff, Event.queued, "客户进入人工排队", None)
    session.flush()
    logger.info("handoff %s for a %s customer: %s", handoff.id, handoff.channel, handoff.status)
    return Requested(handoff, online)


def _online(session: Session, settings: Settings, handoff: Handoff, kf: KfDesk | None) -> int:
    if kf is not None and handoff.kf_account is not None:
        return kf.choose_account()[1]
    return queue.capacity(session, settings).online


def _unavailable(handoff: Handoff, reason: UnavailableReason, now: datetime) -> None:
    handoff.status = HandoffStatus.unavailable.value
    handoff.unavailable_reason = reason.value
    handoff.ended_at = now


def _kind(line: TranscriptLine) -> LineKind:
    return LineKind(line.sender)


@dataclass(frozen=True)
class Passed:
    handoff: Handoff
    #: this message is the first passed on: the customer is told so, once per hand-off
    acknowledge: bool


def add_customer_message(session: Session, handoff_id: int, text: str, at: datetime) -> Passed:
    """A message the customer wrote while waiting or talking to an agent: into the conversation
    (once: the same text at the same moment again is the same message). A hand-off that has ended
    takes nothing and answers its status, so the assistant answers the customer itself."""
    handoff = get(session, handoff_id)
    if handoff.status not in OPEN_VALUES:
        return Passed(handoff, acknowledge=False)
    if handoff.kf_account is not None:
        # WeChat forwards messages to its customer service while a session lasts; one that reached
        # the assistant means the session lapsed (30 minutes without the agent closing it).
        _end(session, handoff, HandoffStatus.closed, None, Event.kf_session, "微信客服会话已超时结束")
        return Passed(handoff, acknowledge=False)
    duplicate = session.scalar(
        select(HandoffLine.id).where(
            HandoffLine.handoff_id == handoff.id,
            HandoffLine.kind == LineKind.customer.value,
            HandoffLine.at == at,
            HandoffLine.text == text,
        )
    )
    if duplicate is not None:
        return Passed(handoff, acknowledge=False)
    _add_line(session, handoff, LineKind.customer, text, at)
    first = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.acknowledged_at.is_(None))
        .values(acknowledged_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return Passed(handoff, acknowledge=bool(first.rowcount))  # type: ignore[attr-defined]


def cancel(session: Session, handoff_id: int) -> Handoff:
    """The customer no longer needs a person; the assistant tells them so itself."""
    handoff = get(session, handoff_id)
    if handoff.status not in OPEN_VALUES:
        raise Conflict("该转人工请求已结束", code="handoff_ended")
    _end(session, handoff, HandoffStatus.cancelled, None, Event.cancelled, "客户取消了人工服务")
    return handoff


# --- the agents' side ---------------------------------------------------------------------------


def claim(session: Session, handoff_id: int, agent: Staff, *, by: Actor) -> Handoff:
    if by.staff_id is not None and by.staff_id != agent.id and not by.supervises:
        raise Forbidden("只能为自己接入会话")
    if agent.role not in {r.value for r in AGENT_ROLES} or not agent.active:
        raise Invalid(f"{agent.name} 不是可接待客户的坐席", code="not_an_agent")
    now = clock.now()
    won = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.waiting.value)
        .values(status=HandoffStatus.active.value, agent_id=agent.id, claimed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    handoff = get(session, handoff_id)
    session.refresh(handoff)
    if not won.rowcount:  # type: ignore[attr-defined]
        _refuse(session, handoff, agent.id, doing="接入")
    _event(session, handoff, Event.claimed, f"{agent.name} 接入会话", agent.id)
    session.flush()
    return handoff


def reply(session: Session, handoff_id: int, *, by: Actor, text: str, client_key: str | None) -> HandoffLine:
    """An agent's reply: a line of the conversation and a push to the customer, once."""
    handoff = get(session, handoff_id)
    if client_key is not None:
        sent = session.scalar(
            select(HandoffLine).where(HandoffLine.handoff_id == handoff_id, HandoffLine.client_key == client_key)
        )
        if sent is not None:
            return sent
    holder = handoff.agent_id if by.staff_id is None else by.staff_id
    now = clock.now()
    held = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.active.value, Handoff.agent_id == holder)
        .where(Handoff.kf_account.is_(None))
        .values(updated_at=Handoff.updated_at)  # takes the row (the write lock) so no release slips in
        .execution_options(synchronize_session=False)
    )
    session.refresh(handoff)
    if holder is None or not held.rowcount:  # type: ignore[attr-defined]
        _refuse(session, handoff, by.staff_id, doing="回复")
    agent = staff.staff_by_id(session, holder)  # type: ignore[arg-type]
    line = HandoffLine(
        handoff_id=handoff.id, kind=LineKind.agent.value, text=text, at=now, staff_id=agent.id, client_key=client_key
    )
    try:
        with session.begin_nested():
            session.add(line)
    except IntegrityError:  # the same reply, sent twice at once: the other one is it
        found = session.scalar(
            select(HandoffLine).where(HandoffLine.handoff_id == handoff_id, HandoffLine.client_key == client_key)
        )
        if found is None:
            raise
        return found
    push = delivery.reply(session, handoff, line_id=line.id, agent_name=agent.name, text=text)
    if push is None:
        raise Conflict("无法通过客户的渠道送达回复，请为客户创建回电任务", code="no_channel")
    line.outbox_id = push.id
    session.flush()
    return line


def release(session: Session, handoff_id: int, *, by: Actor, summary: str) -> Handoff:
    """Back to the assistant; the customer is told once, with the summary."""
    handoff = _take_active(session, handoff_id, by, doing="结束")
    handoff.summary = summary
    _end(session, handoff, HandoffStatus.released, by.staff_id, Event.released, f"{by.label} 转回智能客服：{summary}")
    delivery.assistant_back(session, handoff, released=True)
    return handoff


def close(session: Session, handoff_id: int, *, by: Actor, summary: str | None) -> Handoff:
    """End the service (a waiting conversation too, e.g. the customer left); the customer is told once."""
    handoff = get(session, handoff_id)
    if handoff.status != HandoffStatus.waiting.value:
        handoff = _take_active(session, handoff_id, by, doing="结束")
    else:
        ended = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.waiting.value)
            .values(updated_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        session.refresh(handoff)
        if not ended.rowcount:  # type: ignore[attr-defined]
            _refuse(session, handoff, by.staff_id, doing="结束")
    handoff.summary = summary
    text = f"{by.label} 结束会话" + (f"：{summary}" if summary else "")
    _end(session, handoff, HandoffStatus.closed, by.staff_id, Event.closed, text)
    delivery.assistant_back(session, handoff, released=False)
    return handoff


def transfer(
    session: Session, settings: Settings, handoff_id: int, *, by: Actor, to: str | None, note: str | None
) -> Handoff:
    """To another agent who is online, or (`to` None) back to the queue in the customer's first place."""
    handoff = _take_active(session, handoff_id, by, doing="转接")
    now = clock.now()
    if to is None:
        handoff.status, handoff.agent_id, handoff.claimed_at = HandoffStatus.waiting.value, None, None
        text, event = f"{by.label} 将客户转回排队", Event.requeued
    else:
        target = staff.get_staff(session, to)
        if target.role not in {r.value for r in AGENT_ROLES} or not target.active:
            raise Invalid(f"{target.name} 不是可接待客户的坐席", code="not_an_agent")
        if target.id not in {s.id for s in queue.accepting_agents(session, settings)}:
            raise Conflict(f"{target.name} 当前不在线或暂停接待，无法转接", code="agent_offline")
        if target.id == handoff.agent_id:
            raise Invalid("会话已在该坐席名下", code="same_agent")
        handoff.agent_id, handoff.claimed_at = target.id, now
        text, event = f"{by.label} 转接给 {target.name}", Event.transferred
    handoff.updated_at = now
    _event(session, handoff, event, text + (f"（{note}）" if note else ""), by.staff_id)
    session.flush()
    return handoff


def check_holder(session: Session, handoff: Handoff, by: Actor, *, doing: str) -> None:
    """Refuse unless the hand-off is active and held by `by` (or `by` supervises)."""
    if (
        handoff.status != HandoffStatus.active.value
        or handoff.kf_account is not None
        or not (by.supervises or handoff.agent_id == by.staff_id)
    ):
        _refuse(session, handoff, by.staff_id, doing=doing)


def _take_active(session: Session, handoff_id: int, by: Actor, *, doing: str) -> Handoff:
    """The active hand-off, held (its row written) by the agent holding it or a supervisor."""
    handoff = get(session, handoff_id)
    guard = [Handoff.id == handoff_id, Handoff.status == HandoffStatus.active.value, Handoff.kf_account.is_(None)]
    if not by.supervises:
        guard.append(Handoff.agent_id == by.staff_id)
    held = session.execute(
        update(Handoff).where(*guard).values(updated_at=clock.now()).execution_options(synchronize_session=False)
    )
    session.refresh(handoff)
    if not held.rowcount:  # type: ignore[attr-defined]
        _refuse(session, handoff, by.staff_id, doing=doing)
    return handoff


def _refuse(session: Session, handoff: Handoff, staff_id: int | None, *, doing: str) -> None:
    """Say why `doing` is not possible in the hand-off's current state (always raises)."""
    if handoff.kf_account is not None:
        raise Conflict("该会话由微信客服系统接待，请在微信客服中处理", code="handled_in_wechat_kf")
    if handoff.status == HandoffStatus.waiting.value:
        raise Conflict("该会话尚未接入，请先接入", code="not_claimed")
    if handoff.status == HandoffStatus.active.value:
        holder = staff.staff_by_id(session, handoff.agent_id).name if handoff.agent_id else "其他坐席"
        code = "already_claimed" if doing == "接入" else "claimed_by_other"
        raise Conflict(f"该会话已由{holder}接待，您不能{doing}", code=code)
    raise Conflict(f"该会话已结束（{_ENDED_LABELS.get(handoff.status, '已结束')}），未能{doing}", code="handoff_ended")


_ENDED_LABELS = {
    HandoffStatus.released.value: "已转回智能客服",
    HandoffStatus.closed.value: "已结束服务",
    HandoffStatus.cancelled.value: "客户已取消",
    HandoffStatus.unavailable.value: "未能转接",
    HandoffStatus.manager.value: "已转交客户经理",
}


def _end(
    session: Session, handoff: Handoff, status: HandoffStatus, staff_id: int | None, event: Event, text: str
) -> None:
    now = clock.now()
    handoff.status, handoff.ended_at, handoff.updated_at = status.value, now, now
    _event(session, handoff, event, text, staff_id)
    session.flush()


# --- WeChat's own customer service (kf mode) ----------------------------------------------------


def kf_event(
    session: Session, *, event: str, openid: str, kf_account: str | None, to_kf_account: str | None
) -> Handoff | None:
    """A kf session event reported by the WeChat channel: the session moved to another account, or
    ended (the customer is told the assistant is back). Events of no open hand-off are ignored."""
    handoff = open_for_sender(session, "wechat", openid)
    if handoff is None or handoff.kf_account is None:
        return None
    now = clock.now()
    if event == "kf_close_session":
        _end(session, handoff, HandoffStatus.closed, None, Event.kf_session, f"微信客服 {kf_account or ''} 结束会话")
        delivery.assistant_back(session, handoff, released=False)
    elif event == "kf_switch_session" and to_kf_account:
        handoff.kf_account, handoff.updated_at = to_kf_account, now
        _event(session, handoff, Event.kf_session, f"微信客服转接给 {to_kf_account}", None)
    elif event == "kf_create_session" and kf_account and kf_account != handoff.kf_account:
        handoff.kf_account, handoff.updated_at = kf_account, now
        _event(session, handoff, Event.kf_session, f"微信客服 {kf_account} 接入", None)
    session.flush()
    return handoff


# --- lines --------------------------------------------------------------------------------------


def _add_line(session: Session, handoff: Handoff, kind: LineKind, text: str, at: datetime) -> None:
    session.add(HandoffLine(handoff_id=handoff.id, kind=kind.value, text=text, at=at))


def _event(session: Session, handoff: Handoff, event: Event, text: str, staff_id: int | None) -> None:
    session.add(
        HandoffLine(
            handoff_id=handoff.id, kind=LineKind.event.value, event=event.value, text=text, at=clock.now(),
            staff_id=staff_id,
        )
    )  # fmt: skip


def note(session: Session, handoff: Handoff, event: Event, text: str, *, by: Actor) -> None:
    """Record in the timeline something done for the customer from the console (a ticket opened…)."""
    _event(session, handoff, event, text, by.staff_id)
    session.flush()
