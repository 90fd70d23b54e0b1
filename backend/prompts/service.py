"""Prompts: the questions pushes asked their recipients, and the answers the chat brings back.

A push whose template asks a question is recorded as a prompt when it is enqueued (outbox.py); it
is open for its recipient once the push has gone out, until it is answered, withdrawn with its
push, or `prompt_open_days` old. The chat asks for a sender's open prompts (newest first) to
understand a bare "1", "2" or "5", and posts the answer:

- restore check, 1 (`restored: true`): thanks, and a rating prompt the chat asks in its own reply;
- restore check, 2 (`restored: false`): the customer's own repair ticket (their fault is behind the
  meter or on their branch), dispatched at high priority; their open one if they have one;
- rating: the ticket is rated (a merged report on its own); a rating about an outage alone is kept
  on the prompt.

Either answer withdraws the rating push still waiting for that ticket: the chat asks instead. An
answer stands once: another is refused (409 `prompt_already_answered`); a retry with the same
Idempotency-Key gets the first answer again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import Settings
from backend.core.errors import Conflict, Invalid, NotFound
from backend.customers import service as customers
from backend.customers.models import Customer, WechatBinding
from backend.notifications.enums import OutboxStatus, PromptStatus
from backend.notifications.models import OutboxMessage, Prompt
from backend.notifications.outbox import withdraw
from backend.prompts.schemas import AnswerTicket, PromptAnswer, PromptAnswerRead, PromptRead
from backend.tickets import service as tickets
from backend.tickets.models import Ticket
from backend.tickets.schemas import WorkerContact

logger = logging.getLogger(__name__)


def _mine(channel: str, sender_id: str) -> Any:
    """The condition of the prompts addressed to a sender: to their phone or openid, or to a customer
    they are (bound on WeChat, the customer's phone on SMS)."""
    if channel == "sms":
        owned = select(Customer.id).where(Customer.phone == sender_id)
        return or_(Prompt.phone == sender_id, Prompt.customer_id.in_(owned))
    bound = select(WechatBinding.customer_id).where(WechatBinding.openid == sender_id)
    return or_(Prompt.wechat_openid == sender_id, Prompt.customer_id.in_(bound))


def open_prompts(session: Session, settings: Settings, *, channel: str, sender_id: str) -> list[Prompt]:
    """The sender's open prompts, newest first, whose push has gone out."""
    moment = clock.now()
    mine = _mine(channel, sender_id)
    query = (
        select(Prompt)
        .outerjoin(OutboxMessage, OutboxMessage.dedup_key == Prompt.dedup_key)
        .where(
            mine,
            Prompt.status == PromptStatus.open.value,
            Prompt.asked_at <= moment,
            Prompt.asked_at > moment - timedelta(days=settings.prompt_open_days),
            or_(Prompt.dedup_key.is_(None), OutboxMessage.status == OutboxStatus.sent.value),
        )
        .order_by(Prompt.asked_at.desc(), Prompt.id.desc())
        .limit(20)
    )
    return list(session.scalars(query))


def read(prompt: Prompt) -> PromptRead:
    return PromptRead(
        id=prompt.id,
        kind=prompt.kind,  # type: ignore[arg-type]
        ticket_no=prompt.ticket_no,
        outage_id=prompt.outage_id,
        asked_at=clock.to_local(prompt.asked_at),  # type: ignore[arg-type]
    )


def answer(
    session: Session,
    settings: Settings,
    prompt_id: int,
    data: PromptAnswer,
    *,
    actor: str,
    sender: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Answer a prompt; with `sender` (channel, id: the assistant speaking for a customer), only one
    addressed to that sender (another is answered as unknown)."""
    query = select(Prompt).where(Prompt.id == prompt_id)
    if sender is not None:
        query = query.where(_mine(*sender))
    prompt = session.scalar(query.with_for_update().execution_options(populate_existing=True))
    if prompt is None:
        raise NotFound(f"问题 {prompt_id} 不存在", code="prompt_not_found")
    if prompt.status == PromptStatus.answered.value:
        raise Conflict("这个问题已经回答过了，以第一次的回答为准", code="prompt_already_answered")
    if prompt.status == PromptStatus.withdrawn.value:
        raise Conflict("这个问题已撤回，无需回答", code="prompt_withdrawn")
    expected = "restore_check" if data.restored is not None else "rating"
    if prompt.kind != expected:
        raise Invalid(
            f"该问题需要的回答是 {'restored' if prompt.kind == 'restore_check' else 'score'}", code="answer_mismatch"
        )
    moment = clock.now()
    if prompt.kind == "rating" and prompt.asked_at <= moment - timedelta(days=settings.prompt_open_days):
        raise Conflict("评价已超过有效期", code="prompt_expired")
    if prompt.ticket_no:
        withdraw(session, dedup_prefix=f"ticket:{prompt.ticket_no}:rating_request", reason="the customer answered")
    prompt.status = PromptStatus.answered.value
    prompt.answered_at = moment
    prompt.answer = data.model_dump(exclude_none=True)
    if data.score is not None:
        if prompt.ticket_no:
            tickets.rate(session, prompt.ticket_no, score=data.score, comment=None, actor=actor)
        logger.info("prompt %s answered: rated %s", prompt.id, data.score)
        return PromptAnswerRead(outcome="rated").model_dump(mode="json")
    if data.restored:
        rating = Prompt(
            kind="rating", status=PromptStatus.open.value, customer_id=prompt.customer_id, phone=prompt.phone,
            wechat_openid=prompt.wechat_openid, ticket_no=prompt.ticket_no, outage_id=prompt.outage_id,
            asked_at=moment,
        )  # fmt: skip
        session.add(rating)
        session.flush()
        return PromptAnswerRead(outcome="thanked", next_prompt=read(rating)).model_dump(mode="json")
    ticket = _still_off(session, settings, prompt, actor=actor)
    worker = ticket.worker
    contact = WorkerContact(name=worker.name, phone=worker.phone or "") if worker else None
    found = AnswerTicket(ticket_no=ticket.ticket_no, deadline=clock.to_local(ticket.arrival_deadline), worker=contact)
    return PromptAnswerRead(outcome="ticket_created", ticket=found).model_dump(mode="json")


def _still_off(session: Session, settings: Settings, prompt: Prompt, *, actor: str) -> Ticket:
    """The customer's power is still off after the restoration: their own ticket, at high priority
    (their open one, reminded, if they have one)."""
    if prompt.customer_id is None:
        raise Invalid("无法确定用电户，请提供户号后报修", code="customer_unknown")
    customer = customers.customer_by_id(session, prompt.customer_id)
    customers.lock(session, customer)
    about = f"工单{prompt.ticket_no}处理后" if prompt.ticket_no else "所在区域恢复供电后"
    description = f"{about}仍未来电，可能为表后或分支线路故障"
    existing = tickets.open_repair_of(session, customer)
    if existing is not None:
        tickets.remind(session, existing, customer, description=description, actor=actor)
        return existing
    openid = prompt.wechat_openid or customers.openid_of(session, customer)
    channel, sender = ("wechat", openid) if openid else ("sms", prompt.phone or customer.phone)
    ticket = tickets.open_ticket(
        session, settings, kind="repair", customer=customer, channel=channel, sender_id=sender,
        description=description, actor=actor, priority="high", told_in_chat=True,
    )  # fmt: skip
    logger.info("prompt %s: still no power, ticket %s opened", prompt.id, ticket.ticket_no)
    return ticket
