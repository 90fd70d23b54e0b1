"""`/outages`: the dispatch centre publishes and updates; the assistant asks what covers a customer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.core.deps import Role, SessionDep, SettingsDep, require
from backend.core.errors import error_responses
from backend.core.tx import TxSessionDep
from backend.customers import service as customers
from backend.faults import service as faults
from backend.outages import service
from backend.outages.notices import notice_ahead
from backend.outages.schemas import OutageCreate, OutageRead, OutageUpdate
from backend.topology.scope import ScopeDep

router = APIRouter(tags=["outages"])
OutageId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("/outages", status_code=201, dependencies=[require()], responses=error_responses(400, 404))
def create_outage(data: OutageCreate, session: TxSessionDep, settings: SettingsDep) -> OutageRead:
    outage = service.create_outage(session, data, notice_ahead=notice_ahead(settings))
    return service.read(session, outage, detail=True)


@router.patch("/outages/{outage_id}", dependencies=[require()], responses=error_responses(400, 404, 409))
def update_outage(outage_id: OutageId, data: OutageUpdate, session: TxSessionDep) -> OutageRead:
    return service.read(session, faults.update_outage(session, outage_id, data, actor="dispatcher"), detail=True)


@router.get("/outages/{outage_id}", dependencies=[require(Role.actions, Role.worker)], responses=error_responses(404))
def get_outage(outage_id: OutageId, session: SessionDep) -> OutageRead:
    return service.read(session, service.get_outage(session, outage_id), detail=True)


@router.get("/outages", dependencies=[require(Role.actions, Role.worker)], responses=error_responses(404))
def list_outages(
    session: SessionDep,
    scope: ScopeDep,
    account_no: Annotated[str | None, Query(pattern=r"^\d{10}$")] = None,
    open_only: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OutageRead]:
    """With `account_no`: the outages covering that customer now (suspected faults included) or
    upcoming; else the pool."""
    if account_no:
        rows = service.covering(session, customers.get_customer_in_scope(session, account_no, scope))
    else:
        rows = service.list_outages(session, open_only=open_only, limit=limit)
    return [service.read(session, o, detail=False) for o in rows]
