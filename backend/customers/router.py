"""`/customers`: admin registers and lists; the assistant reads one customer (phone masked)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from backend.access import service as access
from backend.access.deps import ReaderDep
from backend.core.deps import Role, SessionDep, caller_role, require
from backend.core.errors import error_responses
from backend.core.tx import TxSessionDep
from backend.customers import service
from backend.customers.schemas import CustomerCreate, CustomerRead, CustomerType
from backend.topology.scope import ScopeDep

router = APIRouter(tags=["customers"])


@router.post("/customers", status_code=201, dependencies=[require()], responses=error_responses(400, 404, 409))
def create_customer(data: CustomerCreate, session: TxSessionDep) -> CustomerRead:
    return service.read(session, service.create_customer(session, data), full=True)


@router.get("/customers", dependencies=[require()])
def list_customers(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
    phone: Annotated[str | None, Query(pattern=r"^1\d{10}$")] = None,
    customer_type: CustomerType | None = None,
) -> list[CustomerRead]:
    rows = service.list_customers(session, limit=limit, offset=offset, phone=phone, customer_type=customer_type)
    return [service.read(session, c, full=True) for c in rows]


AccountNo = Annotated[str, Path(pattern=r"^\d{10}$")]


@router.get(
    "/customers/{account_no}", dependencies=[require(Role.actions, Role.worker)], responses=error_responses(403, 404)
)
def get_customer(
    account_no: AccountNo,
    session: SessionDep,
    role: Annotated[Role, Depends(caller_role)],
    scope: ScopeDep,
    reader: ReaderDep,
) -> CustomerRead:
    """To the admin in full; to a worker in its cell; to the assistant only for the account's owner
    or after the phone check."""
    customer = service.get_customer_in_scope(session, account_no, scope)
    access.require_customer(session, reader, customer)
    return service.read(session, customer, full=role is Role.admin)
