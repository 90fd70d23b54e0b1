"""`/feeders`, `/grid-cells`, `/transformers`, `/workers`: admin writes, every role reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.core.deps import Role, SessionDep, SettingsDep, require, worker_token
from backend.core.errors import error_responses
from backend.core.schemas import NO_NUL
from backend.core.tx import TxSessionDep
from backend.topology import service
from backend.topology.schemas import (
    FeederCreate,
    FeederRead,
    GridCellCreate,
    GridCellRead,
    TransformerCreate,
    TransformerRead,
    WorkerCreate,
    WorkerRead,
    WorkerToken,
)

router = APIRouter(tags=["topology"])
READERS = require(Role.actions, Role.worker)
ADMIN = require()


@router.post("/feeders", status_code=201, dependencies=[ADMIN], responses=error_responses(400, 409))
def create_feeder(data: FeederCreate, session: TxSessionDep) -> FeederRead:
    return service.create_feeder(session, data)


@router.get("/feeders", dependencies=[READERS])
def list_feeders(session: SessionDep) -> list[FeederRead]:
    return service.list_feeders(session)


@router.post("/grid-cells", status_code=201, dependencies=[ADMIN], responses=error_responses(400, 404, 409))
def create_grid_cell(data: GridCellCreate, session: TxSessionDep) -> GridCellRead:
    return service.create_grid_cell(session, data)


@router.get("/grid-cells", dependencies=[READERS])
def list_grid_cells(session: SessionDep) -> list[GridCellRead]:
    return service.list_grid_cells(session)


@router.post("/transformers", status_code=201, dependencies=[ADMIN], responses=error_responses(400, 404, 409))
def create_transformer(data: TransformerCreate, session: TxSessionDep) -> TransformerRead:
    return service.create_transformer(session, data)


@router.get("/transformers", dependencies=[READERS])
def list_transformers(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
) -> list[TransformerRead]:
    return service.list_transformers(session, limit=limit, offset=offset)


@router.post("/workers", status_code=201, dependencies=[ADMIN], responses=error_responses(400, 404, 409))
def create_worker(data: WorkerCreate, session: TxSessionDep) -> WorkerRead:
    return service.create_worker(session, data)


@router.get("/workers", dependencies=[READERS], responses=error_responses(404))
def list_workers(
    session: SessionDep, grid_cell_code: Annotated[str | None, Query(max_length=32, pattern=NO_NUL)] = None
) -> list[WorkerRead]:
    return service.list_workers(session, grid_cell_code=grid_cell_code)


@router.post("/workers/{code}/token", dependencies=[ADMIN], responses=error_responses(404))
def issue_worker_token(
    code: Annotated[str, Path(max_length=32, pattern=NO_NUL)], session: SessionDep, settings: SettingsDep
) -> WorkerToken:
    """Admin: the bearer token of one worker's integration (a WeCom workbench page, a worker app). It
    sees that worker's grid cell only; rotating POWERDESK_WORKER_TOKEN withdraws every worker token."""
    worker = service.get_worker(session, code)
    return WorkerToken(worker_code=worker.code, token=worker_token(settings.powerdesk_worker_token, worker.code))
