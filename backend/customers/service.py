"""Customer service: registration, lookups by account, phone, address or WeChat openid, bindings."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.errors import Invalid, NotFound
from backend.core.masking import mask_account, mask_phone
from backend.core.unique import add_unique
from backend.customers.models import Customer, WechatBinding
from backend.customers.schemas import CustomerBrief, CustomerCreate, CustomerRead
from backend.topology import service as topology
from backend.topology.scope import WorkerScope

logger = logging.getLogger(__name__)


def create_customer(session: Session, data: CustomerCreate) -> Customer:
    transformer = topology.get_transformer(session, data.transformer_code)
    fields = data.model_dump(exclude={"transformer_code", "wechat_openid"})
    customer = Customer(transformer_id=transformer.id, created_at=clock.now(), **fields)
    add_unique(session, customer, f"户号 {data.account_no} 已存在")
    if data.wechat_openid:
        session.add(WechatBinding(openid=data.wechat_openid, customer_id=customer.id, created_at=clock.now()))
        session.flush()
    return customer


# Built once: asked on every report. The second also holds the row (see `lock`).
_BY_ACCOUNT = select(Customer).where(Customer.account_no == bindparam("account_no"))
_BY_ACCOUNT_LOCKED = _BY_ACCOUNT.with_for_update(key_share=True)


def get_customer(session: Session, account_no: str, *, hold: bool = False) -> Customer:
    """The customer of the account; with `hold`, their row is held as `lock` does, in the same query."""
    query = _BY_ACCOUNT_LOCKED if hold and session.get_bind().dialect.name != "sqlite" else _BY_ACCOUNT
    customer = session.scalar(query, {"account_no": account_no})
    if customer is None:
        raise NotFound(f"没有找到户号 {account_no}，请核对后再试", code="customer_not_found")
    return customer


def customer_by_id(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("客户不存在", code="customer_not_found")
    return customer


def find_by_phone(session: Session, phone: str) -> list[Customer]:
    return list(session.scalars(select(Customer).where(Customer.phone == phone).order_by(Customer.id)))


def find_by_openid(session: Session, openid: str) -> list[Customer]:
    query = (
        select(Customer)
        .join(WechatBinding, WechatBinding.customer_id == Customer.id)
        .where(WechatBinding.openid == openid)
        .order_by(WechatBinding.id)
    )
    return list(session.scalars(query))


def openid_of(session: Session, customer: Customer) -> str | None:
    """The WeChat openid the customer was bound to last, if any."""
    query = (
        select(WechatBinding.openid)
        .where(WechatBinding.customer_id == customer.id)
        .order_by(WechatBinding.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def find_by_address(session: Session, address: str) -> list[Customer]:
    """Exact address first, else addresses that contain the text (at most a few)."""
    exact = list(session.scalars(select(Customer).where(Customer.address == address)))
    if exact:
        return exact
    pattern = "%" + address.replace("%", "").replace("_", "") + "%"
    return list(session.scalars(select(Customer).where(Customer.address.like(pattern)).limit(5)))


#: the last character of a street's or a village's name (人民路, 府前街, 桃源大道, 青溪村, 幸福巷)
ROAD_ENDINGS = "路街道巷村"


def street_names(address: str) -> list[str]:
    """Candidate names of the streets or villages an address mentions, in order, the longer of two
    lengths first: "城关镇人民路与解放路交叉口" → 镇人民路, 人民路, 路与解放路…"""
    names = []
    for end, char in enumerate(address):
        if char in ROAD_ENDINGS:
            names += [address[end + 1 - length : end + 1] for length in (4, 3) if end + 1 >= length]
    return names


def on_street_of(session: Session, address: str, *, limit: int = 50) -> list[Customer]:
    """Customers on the street or in the village that `address` names (the first of its names that
    any customer's address contains), for placing a report of a spot where nobody is a customer."""
    for name in street_names(address.replace("%", "").replace("_", "")):
        found = list(session.scalars(select(Customer).where(Customer.address.like(f"%{name}%")).limit(limit)))
        if found:
            return found
    return []


def resolve(
    session: Session,
    *,
    account_no: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    channel: str | None = None,
    sender_id: str | None = None,
    hold: bool = False,
) -> Customer:
    """The one customer a report is about: 户号, phone, address, then the sender's WeChat binding.

    With `hold`, the customer's row is held until the transaction ends (see `lock`).
    """
    if account_no:
        return get_customer(session, account_no, hold=hold)
    candidates: list[Customer] = []
    if phone:
        candidates = find_by_phone(session, phone)
    elif address:
        candidates = find_by_address(session, address)
    elif sender_id and channel == "wechat":
        candidates = find_by_openid(session, sender_id)
    elif sender_id and channel == "sms":
        candidates = find_by_phone(session, sender_id)
    if not candidates:
        raise NotFound("没有找到对应的用电户，请提供户号或预留手机号", code="customer_not_found")
    if len(candidates) > 1:
        raise Invalid("找到多个用电户，请提供具体的户号", code="customer_ambiguous")
    if hold:
        lock(session, candidates[0])
    return candidates[0]


_LOCK = select(Customer.id).where(Customer.id == bindparam("customer_id")).with_for_update(key_share=True)


def lock(session: Session, customer: Customer) -> None:
    """Hold the customer's row until the transaction ends: one check-then-act per customer at a time.

    `FOR NO KEY UPDATE` on PostgreSQL, so rows that reference the customer (tickets, pushes) can
    still be inserted meanwhile. SQLite has no row locks; it runs one write transaction at a time,
    so there is nothing to do.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(_LOCK, {"customer_id": customer.id})


def get_customer_in_scope(session: Session, account_no: str, scope: WorkerScope | None) -> Customer:
    """The customer, if a worker request may see it (its own cell); answered as unknown otherwise."""
    customer = get_customer(session, account_no)
    if scope is not None and grid_cell_id_of(session, customer) != scope.grid_cell_id:
        logger.warning("worker %s refused customer %s of another grid cell", scope.code, mask_account(account_no))
        raise NotFound(f"没有找到户号 {account_no}，请核对后再试", code="customer_not_found")
    return customer


def grid_cell_id_of(session: Session, customer: Customer) -> int:
    if customer.grid_cell_id is not None:
        return customer.grid_cell_id
    return topology.transformer_by_id(session, customer.transformer_id).grid_cell_id


def is_bound(session: Session, openid: str, customer: Customer) -> bool:
    query = select(WechatBinding.id).where(WechatBinding.openid == openid, WechatBinding.customer_id == customer.id)
    return session.scalar(query) is not None


def binding_count(session: Session, customer: Customer) -> int:
    return len(session.scalars(select(WechatBinding.id).where(WechatBinding.customer_id == customer.id)).all())


def bind_openid(session: Session, *, openid: str, customer: Customer) -> None:
    if not is_bound(session, openid, customer):
        session.add(WechatBinding(openid=openid, customer_id=customer.id, created_at=clock.now()))
        session.flush()


def unbind_openid(session: Session, *, openid: str, customer: Customer) -> bool:
    binding = session.scalar(
        select(WechatBinding).where(WechatBinding.openid == openid, WechatBinding.customer_id == customer.id)
    )
    if binding is None:
        return False
    session.delete(binding)
    session.flush()
    return True


def brief(customer: Customer) -> CustomerBrief:
    return CustomerBrief(
        account_no=customer.account_no,
        name=customer.name,
        address=customer.address,
        phone_masked=mask_phone(customer.phone) or "",
        customer_type=customer.customer_type,  # type: ignore[arg-type]
    )


def read(session: Session, customer: Customer, *, full: bool) -> CustomerRead:
    transformer = topology.transformer_by_id(session, customer.transformer_id)
    cell = topology.grid_cell_by_id(session, grid_cell_id_of(session, customer))
    openids = (
        list(session.scalars(select(WechatBinding.openid).where(WechatBinding.customer_id == customer.id)))
        if full
        else []
    )
    return CustomerRead(
        account_no=customer.account_no,
        name=customer.name,
        phone=customer.phone if full else None,
        phone_masked=mask_phone(customer.phone) or "",
        address=customer.address,
        customer_type=customer.customer_type,  # type: ignore[arg-type]
        area_type=customer.area_type,  # type: ignore[arg-type]
        transformer_code=transformer.code,
        feeder_code=transformer.feeder.code,
        grid_cell_code=cell.code,
        medical_equipment=customer.medical_equipment,
        wechat_openids=openids,
    )


def list_customers(
    session: Session, *, limit: int, offset: int, phone: str | None = None, customer_type: str | None = None
) -> list[Customer]:
    query = select(Customer).order_by(Customer.account_no).limit(limit).offset(offset)
    if phone:
        query = query.where(Customer.phone == phone)
    if customer_type:
        query = query.where(Customer.customer_type == customer_type)
    return list(session.scalars(query))


def similar_customer_ids(session: Session, customer: Customer) -> Select[Any]:
    """A SELECT of the customers of the same type in the same grid cell (the peers for comparisons)."""
    cell_id = grid_cell_id_of(session, customer)
    in_cell = or_(
        Customer.grid_cell_id == cell_id,
        Customer.grid_cell_id.is_(None) & Customer.transformer_id.in_(topology.transformer_ids_in_cell(cell_id)),
    )
    return select(Customer.id).where(Customer.customer_type == customer.customer_type, in_cell)
