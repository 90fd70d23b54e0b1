"""Who a push goes to, and where they can be reached: read from the customer and worker records,
for a whole claimed batch at once (one query per table, not per row)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.customers import service as customers
from backend.customers.models import Customer, WechatBinding
from backend.notifications.models import OutboxMessage
from backend.topology.models import Worker


@dataclass(frozen=True)
class Recipient:
    key: str
    is_worker: bool
    phone: str | None = None
    wechat_openid: str | None = None
    wecom_user_id: str | None = None


def resolve_all(session: Session, rows: Sequence[OutboxMessage]) -> list[Recipient]:
    """The recipient of each row, in the order of `rows`."""
    worker_ids = {row.worker_id for row in rows if row.worker_id is not None}
    customer_ids = {row.customer_id for row in rows if row.worker_id is None and row.customer_id is not None}
    workers = {w.id: w for w in session.scalars(select(Worker).where(Worker.id.in_(worker_ids)))} if worker_ids else {}
    phones: dict[int, str] = {}
    openids: dict[int, str] = {}
    if customer_ids:
        query = select(Customer.id, Customer.phone).where(Customer.id.in_(customer_ids))
        phones = {customer_id: phone for customer_id, phone in session.execute(query)}
        bindings = (
            select(WechatBinding.customer_id, WechatBinding.openid)
            .where(WechatBinding.customer_id.in_(customer_ids))
            .order_by(WechatBinding.id)
        )
        # The latest binding of each customer wins.
        openids = {customer_id: openid for customer_id, openid in session.execute(bindings)}
    found: list[Recipient] = []
    for row in rows:
        key = row.recipient_key or ""
        if row.worker_id is not None:
            worker = workers.get(row.worker_id)
            found.append(
                Recipient(key, True, phone=worker.phone, wecom_user_id=worker.wecom_user_id)
                if worker is not None
                else Recipient(key, True)
            )
        elif row.customer_id is not None:
            openid = row.wechat_openid or openids.get(row.customer_id)
            phone = row.phone or phones.get(row.customer_id)
            found.append(Recipient(key, False, phone=phone, wechat_openid=openid))
        else:
            found.append(_by_address(session, row, key))
    return found


def _by_address(session: Session, row: OutboxMessage, key: str) -> Recipient:
    """A push addressed directly (POST /notifications by phone, openid or WeCom user id)."""
    phone = row.phone
    if phone is None and row.wechat_openid:
        bound = customers.find_by_openid(session, row.wechat_openid)
        phone = bound[0].phone if len(bound) == 1 else None
    return Recipient(
        key, row.wecom_user_id is not None, phone=phone, wechat_openid=row.wechat_openid,
        wecom_user_id=row.wecom_user_id,
    )  # fmt: skip
