"""Who a push goes to, and where they can be reached: read from the customer and worker records."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.customers import service as customers
from backend.customers.models import WechatBinding
from backend.notifications.models import OutboxMessage
from backend.topology.models import Worker


@dataclass(frozen=True)
class Recipient:
    key: str
    is_worker: bool
    phone: str | None = None
    wechat_openid: str | None = None
    wecom_user_id: str | None = None


def resolve(session: Session, row: OutboxMessage) -> Recipient:
    key = row.recipient_key or ""
    if row.worker_id is not None:
        worker = session.get(Worker, row.worker_id)
        if worker is None:
            return Recipient(key, True)
        return Recipient(key, True, phone=worker.phone, wecom_user_id=worker.wecom_user_id)
    if row.customer_id is not None:
        customer = customers.customer_by_id(session, row.customer_id)
        openid = row.wechat_openid or session.scalar(
            select(WechatBinding.openid)
            .where(WechatBinding.customer_id == customer.id)
            .order_by(WechatBinding.id.desc())
            .limit(1)
        )
        return Recipient(key, False, phone=row.phone or customer.phone, wechat_openid=openid)
    phone = row.phone
    if phone is None and row.wechat_openid:
        bound = customers.find_by_openid(session, row.wechat_openid)
        phone = bound[0].phone if len(bound) == 1 else None
    return Recipient(
        key, row.wecom_user_id is not None, phone=phone, wechat_openid=row.wechat_openid,
        wecom_user_id=row.wecom_user_id,
    )  # fmt: skip
