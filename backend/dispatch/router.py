"""`/grid-workers`: who looks after a customer's grid cell, and who backs them up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.core.deps import Role, SessionDep, require
from backend.core.errors import error_responses
from backend.customers import service as customers
from backend.dispatch import service
from backend.dispatch.schemas import CellRef, Contact, GridWorkersRead
from backend.topology.scope import ScopeDep

router = APIRouter(tags=["dispatch"])


@router.get("/grid-workers", dependencies=[require(Role.actions, Role.worker)], responses=error_responses(404))
def grid_workers(
    session: SessionDep, scope: ScopeDep, account_no: Annotated[str, Query(pattern=r"^\d{10}$")]
) -> GridWorkersRead:
    customer = customers.get_customer_in_scope(session, account_no, scope)
    found = service.responsible(session, customers.grid_cell_id_of(session, customer))
    return GridWorkersRead(
        grid_cell=CellRef(code=found.cell_code, name=found.cell_name),
        worker=Contact(name=found.worker.name, phone=found.worker.phone) if found.worker else None,
        backup=Contact(name=found.backup.name, phone=found.backup.phone) if found.backup else None,
    )
