"""Identity service: resolve a channel identity to customers or a worker; bind a WeChat user to an
account with a one-time code sent by SMS to its registered phone (attempts limited per WeChat user
and per account, at most `MAX_BINDINGS` WeChat users per account, the owner told of every new one)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.access import service as access
from backend.core import clock
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.masking import mask_account, mask_id, mask_phone
from backend.customers import service as customers
from backend.customers.models import BindCode, Customer
from backend.identity.schemas import BindCodeRead, IdentityRead, WorkerBrief
from backend.notifications.outbox import enqueue
from backend.topology import service as topology
from backend.topology.models import Worker

logger = logging.getLogger(__name__)


def _worker_brief(worker: Worker | None) -> WorkerBrief | None:
    if worker is None:
        return None
    return WorkerBrief(code=worker.code, name=worker.name, grid_cell_code=worker.grid_cell.code)


def resolve(
    session: Session,
    *,
    wechat_openid: str | None = None,
    wecom_user_id: str | None = None,
    phone: str | None = None,
) -> IdentityRead:
    found = []
    worker = None
    if wechat_openid:
        found = customers.find_by_openid(session, wechat_openid)
    elif wecom_user_id:
        worker = topology.find_worker_by_wecom(session, wecom_user_id)
    elif phone:
        found = customers.find_by_phone(session, phone)
        worker = topology.find_worker_by_phone(session, phone)
    kind: Literal["customer", "worker", "unknown"] = "worker" if worker else "customer" if found else "unknown"
    return IdentityRead(kind=kind, customers=[customers.brief(c) for c in found], worker=_worker_brief(worker))


# --- binding a WeChat user to an account with a one-time SMS code ----------------------------------

CODE_MINUTES = 10
RESEND_SECONDS = 60
MAX_BINDINGS = 5
MAX_CODES_PER_DAY = 5


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _codes_today(session: Session, customer: Customer) -> list[BindCode]:
    since = clock.now() - access.WINDOW
    query = select(BindCode).where(BindCode.customer_id == customer.id, BindCode.created_at > since)
    return list(session.scalars(query.order_by(BindCode.id)))


def send_bind_code(session: Session, *, openid: str, account_no: str) -> BindCodeRead:
    """Send a code to the account's registered phone (a fresh one at most once a minute)."""
    customer = customers.get_customer(session, account_no)
    subject = customer.account_no
    if access.attempts_left(session, "bind", openid, subject) == 0:
        raise access.locked("bind")
    if customers.is_bound(session, openid, customer):
        raise Conflict("该户号已经绑定在这个微信上", code="already_bound")
    if customers.binding_count(session, customer) >= MAX_BINDINGS:
        raise Conflict("该户号绑定的微信已达上限", code="too_many_bindings")
    moment = clock.now()
    codes = _codes_today(session, customer)
    recent = [
        c
        for c in codes
        if c.openid == openid and c.used_at is None and c.created_at > moment - timedelta(seconds=RESEND_SECONDS)
    ]
    if not recent:
        if len(codes) >= MAX_CODES_PER_DAY:
            raise access.locked("bind")
        code = f"{secrets.randbelow(10**6):06d}"
        salt = secrets.token_hex(8)
        row = BindCode(
            openid=openid,
            customer_id=customer.id,
            code_hash=_hash(salt, code),
            salt=salt,
            created_at=moment,
            expires_at=moment + timedelta(minutes=CODE_MINUTES),
        )
        session.add(row)
        session.flush()
        enqueue(
            session,
            dedup_key=f"bind_code:{row.id}",
            template="bind_code",
            urgent=True,
            phone=customer.phone,
            params={"account_masked": mask_account(customer.account_no), "code": code, "minutes": CODE_MINUTES},
        )
        logger.info("bind code sent for %s to %s", mask_account(account_no), mask_id(openid))
    return BindCodeRead(phone_masked=mask_phone(customer.phone) or "", expires_in_minutes=CODE_MINUTES)


def bind(session: Session, *, openid: str, account_no: str, code: str) -> Customer | DomainError:
    """Bind when the code matches; a wrong or stale code is returned (recorded, to be committed)."""
    customer = customers.get_customer(session, account_no)
    if access.attempts_left(session, "bind", openid, customer.account_no) == 0:
        return access.locked("bind")
    moment = clock.now()
    query = (
        select(BindCode)
        .where(BindCode.openid == openid, BindCode.customer_id == customer.id, BindCode.used_at.is_(None))
        .order_by(BindCode.id.desc())
    )
    candidates = list(session.scalars(query.limit(3)))
    matching = next((c for c in candidates if secrets.compare_digest(c.code_hash, _hash(c.salt, code))), None)
    if matching is not None and matching.expires_at > moment:
        matching.used_at = moment
        customers.bind_openid(session, openid=openid, customer=customer)
        enqueue(
            session,
            dedup_key=f"binding_added:{matching.id}",
            template="binding_added",
            urgent=True,
            phone=customer.phone,
            params={
                "account_masked": mask_account(customer.account_no),
                "at": moment.astimezone(clock.LOCAL_ZONE).isoformat(),
            },
        )
        logger.info("account %s bound to %s", mask_account(account_no), mask_id(openid))
        return customer
    if matching is not None:
        return Forbidden("验证码已过期，请重新获取", code="bind_code_expired")
    access.record_failure(session, "bind", openid, customer.account_no)
    left = access.attempts_left(session, "bind", openid, customer.account_no)
    logger.info("wrong bind code for %s from %s (%s left)", mask_account(account_no), mask_id(openid), left)
    if left == 0:
        return access.locked("bind")
    return Forbidden("验证码不正确", code="bind_code_wrong", details={"attempts_left": left})


def unbind(session: Session, *, openid: str, account_no: str) -> None:
    customer = customers.get_customer(session, account_no)
    if not customers.unbind_openid(session, openid=openid, customer=customer):
        raise NotFound("这个微信没有绑定该户号", code="binding_not_found")
    logger.info("account %s unbound from %s", mask_account(account_no), mask_id(openid))
