"""`/grid-workers`: who looks after a customer's grid cell, and who backs them up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.core.deps import Role, SessionDep, require
from backend.core.errors import Invalid, NotFound, error_responses
from backend.core.schemas import NO_NUL
from backend.customers import service as customers
from backend.dispatch import service
from backend.dispatch.schemas import CellRef, Contact, GridWorkersRead
from backend.topology.scope import ScopeDep

router = APIRouter(tags=["dispatch"])


@router.get("/grid-workers", dependencies=[require(Role.actions, Role.worker)], responses=error_responses(404, 422))
def grid_workers(
    session: SessionDep,
    scope: ScopeDep,
    account_no: Annotated[str | None, Query(pattern=r"^\d{10}$")] = None,
    address: Annotated[str | None, Query(min_length=2, max_length=200, pattern=NO_NUL)] = None,
) -> GridWorkersRead:
    """The grid worker of an account or of an address (not private: told to anyone who asks; a
    worker only within its cell)."""
    if (account_no is None) == (address is None):
        raise Invalid("请只提供 account_no 或 address 中的一项", code="one_place_required")
    if account_no:
        customer = customers.get_customer_in_scope(session, account_no, scope)
    else:
        matches = customers.find_by_address(session, address or "")
        if not matches:
            raise NotFound("没有找到这个地址所在的供电网格", code="place_not_found")
        customer = matches[0]
    found = service.responsible(session, customers.grid_cell_id_of(session, customer))
    return GridWorkersRead(
        grid_cell=CellRef(code=found.cell_code, name=found.cell_name),
        worker=Contact(name=found.worker.name, phone=found.worker.phone) if found.worker else None,
        backup=Contact(name=found.backup.name, phone=found.backup.phone) if found.backup else None,
    )
