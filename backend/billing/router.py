"""`/bills`: the assistant reads bills and the usage comparison; the admin issues bills."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.access import service as access
from backend.access.deps import ReaderDep
from backend.billing import service
from backend.billing.schemas import BillCreate, BillRead, ComparisonRead, TariffRead
from backend.billing.tariff import get_tariff
from backend.core import clock
from backend.core.deps import Role, SessionDep, require
from backend.core.errors import NotFound, error_responses
from backend.core.tx import TxSessionDep
from backend.customers import service as customers

router = APIRouter(tags=["bills"])
AccountNo = Annotated[str, Query(pattern=r"^\d{10}$")]


@router.post("/bills", status_code=201, dependencies=[require()], responses=error_responses(400, 404, 409))
def issue_bill(data: BillCreate, session: TxSessionDep) -> BillRead:
    return service.read(service.issue_bill(session, get_tariff(), data), clock.local_today())


@router.get("/bills", dependencies=[require(Role.actions)], responses=error_responses(403, 404))
def list_bills(
    session: SessionDep, reader: ReaderDep, account_no: AccountNo, months: Annotated[int, Query(ge=1, le=36)] = 12
) -> list[BillRead]:
    """The account's bills, newest first: to its owner, or after the phone check (403 otherwise)."""
    customer = customers.get_customer(session, account_no)
    access.require_customer(session, reader, customer)
    today = clock.local_today()
    return [service.read(b, today) for b in service.bills_of(session, customer, months)]


@router.get("/bills/comparison", dependencies=[require(Role.actions)], responses=error_responses(403, 404))
def compare(session: SessionDep, reader: ReaderDep, account_no: AccountNo) -> ComparisonRead:
    customer = customers.get_customer(session, account_no)
    access.require_customer(session, reader, customer)
    result = service.comparison(session, customer)
    if result is None:
        raise NotFound("该户暂无账单，无法比较用电量", code="bill_not_found")
    return result


@router.get("/tariff", dependencies=[require(Role.actions, Role.worker)])
def tariff() -> TariffRead:
    """The tariff anyone may be told: the residential tiers and the time-of-use adjustments."""
    return service.tariff_read(get_tariff())
