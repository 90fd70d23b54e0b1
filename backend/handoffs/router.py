"""`/handoffs`: the assistant queues a conversation for a human agent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.core.deps import Role, SessionDep, require
from backend.core.errors import error_responses
from backend.core.schemas import NO_NUL
from backend.core.tx import TxSessionDep
from backend.handoffs import service
from backend.handoffs.schemas import HandoffCreate, HandoffRead

router = APIRouter(tags=["handoffs"])
HandoffId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("/handoffs", status_code=201, dependencies=[require(Role.actions)], responses=error_responses(400))
def request_handoff(data: HandoffCreate, session: TxSessionDep) -> HandoffRead:
    return service.read(session, service.request(session, data))


@router.get("/handoffs", dependencies=[require(Role.actions)])
def list_handoffs(
    session: SessionDep, sender_id: Annotated[str, Query(max_length=64, pattern=NO_NUL)], active: bool = True
) -> list[HandoffRead]:
    return [service.read(session, h) for h in service.list_for_sender(session, sender_id, active_only=active)]


@router.post(
    "/handoffs/{handoff_id}/release", dependencies=[require(Role.actions)], responses=error_responses(404, 409)
)
def release(handoff_id: HandoffId, session: TxSessionDep) -> HandoffRead:
    return service.read(session, service.release(session, handoff_id))
