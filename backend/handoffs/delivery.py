"""What a hand-off sends through the outbox, in the transaction of its cause.

To the customer, on their own channel: an agent's replies (`agent_reply`), and once, when the agent
leaves, that the assistant is back (`handoff_released` / `handoff_closed`). WeChat customers are
addressed by their openid (customer-service message inside the 48 h / 5-message window, else a
template message, else SMS to the phone of the one customer bound to the openid); SMS customers by
their phone; others through the customer record of their account. The notifier chooses and records
the channel, which the console shows beside each reply.

To staff, by WeCom: the customer manager of a business customer who asked for them (SMS when the
manager has no WeCom id), and the duty supervisor when customers wait too long.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.customers import service as customers
from backend.customers.models import Customer
from backend.handoffs.models import Handoff
from backend.notifications.models import OutboxMessage
from backend.notifications.outbox import enqueue
from backend.staff import service as staff
from backend.staff.roles import StaffRole
from backend.topology import service as topology

#: how the manager's message names the channel the customer wrote on
CHANNEL_LABELS = {
    "wechat": "微信公众号",
    "sms": "短信",
    "rest": "在线客服",
    "web": "网页",
    "phone": "电话",
    "wecom": "企业微信",
}
TRANSCRIPT_FOR_MANAGER = 8


def customer_address(session: Session, handoff: Handoff) -> dict[str, Any] | None:
    """How the outbox reaches the customer of `handoff`, None when there is no way."""
    if handoff.channel == "wechat":
        return {"wechat_openid": handoff.sender_id}
    if handoff.channel == "sms":
        return {"phone": handoff.sender_id}
    if handoff.account_no:
        return {"customer_id": customers.get_customer(session, handoff.account_no).id}
    return None


def reply(session: Session, handoff: Handoff, *, line_id: int, agent_name: str, text: str) -> OutboxMessage | None:
    address = customer_address(session, handoff)
    if address is None:
        return None
    row = enqueue(
        session,
        dedup_key=f"handoff:{handoff.id}:reply:{line_id}",
        template="agent_reply",
        params={"agent_name": agent_name, "text": text},
        urgent=True,  # the customer is waiting for it: quiet hours do not hold it
        **address,
    )
    session.flush()
    return row


def assistant_back(session: Session, handoff: Handoff, *, released: bool) -> None:
    """Tell the customer once that the agent left and the assistant answers again."""
    address = customer_address(session, handoff)
    if address is None:
        return
    if released:
        key, template, params = "released", "handoff_released", {"summary": handoff.summary or ""}
    else:
        key, template, params = "closed", "handoff_closed", {}
    enqueue(session, dedup_key=f"handoff:{handoff.id}:{key}", template=template, params=params, urgent=True, **address)


def to_manager(session: Session, handoff: Handoff, customer: Customer, transcript: list[tuple[str, str]]) -> int | None:
    """Send the request with the conversation to the customer's manager: WeCom when the manager is a
    staff record (or a worker) with a WeCom id, else SMS; returns the manager's staff id if known."""
    assert customer.manager_phone
    manager = staff.find_by_phone(session, customer.manager_phone, role=StaffRole.manager)
    lines = [f"{'客户' if who == 'customer' else '小电'}：{text}" for who, text in transcript[-TRANSCRIPT_FOR_MANAGER:]]
    params = {
        "customer_name": customer.name,
        "account_no": customer.account_no,
        "customer_phone": customer.phone,
        "channel_label": CHANNEL_LABELS.get(handoff.channel, handoff.channel),
        "reason": handoff.reason or "希望客户经理联系",
        "transcript": "\n".join(lines) or "（无）",
    }
    address: dict[str, Any]
    if manager is not None and manager.wecom_user_id:
        address = {"wecom_user_id": manager.wecom_user_id}
    else:
        worker = topology.find_worker_by_phone(session, customer.manager_phone)
        address = {"worker_id": worker.id} if worker is not None else {"phone": customer.manager_phone}
    enqueue(session, dedup_key=f"handoff:{handoff.id}:manager", template="handoff_to_manager", params=params, **address)
    return manager.id if manager is not None else None


def wait_alert(session: Session, *, first_id: int, supervisor_wecom_id: str, params: dict[str, Any]) -> None:
    enqueue(
        session,
        dedup_key=f"handoff:{first_id}:wait_alert:{supervisor_wecom_id}",
        template="handoff_wait_alert",
        params=params,
        urgent=True,
        wecom_user_id=supervisor_wecom_id,
    )
