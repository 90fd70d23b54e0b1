"""`/callbacks`: the assistant (or an agent) asks for a call back; agents list and complete them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path

from backend.callbacks import service
from backend.callbacks.schemas import CallbackCreate, CallbackCreated, CallbackDone, CallbackRead
from backend.core import clock
from backend.core.deps import Role, SessionDep, SettingsDep
from backend.core.errors import error_responses
from backend.core.tx import TxSessionDep
from backend.staff.access import Caller, allow
from backend.staff.roles import AGENT_ROLES, VIEW_ROLES

router = APIRouter(tags=["callbacks"])
CallbackId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("/callbacks", status_code=201, responses=error_responses(400))
def create_callback(
    data: CallbackCreate,
    caller: Annotated[Caller, allow(Role.actions, staff=AGENT_ROLES)],
    session: TxSessionDep,
    settings: SettingsDep,
) -> CallbackCreated:
    """A callback task with its contact deadline; a sender with an open task gets that one."""
    task = service.create(session, settings, data, actor=caller.actor)
    return CallbackCreated(id=task.id, contact_deadline=clock.to_local(task.contact_deadline))  # type: ignore[arg-type]


@router.get("/callbacks")
def list_callbacks(
    caller: Annotated[Caller, allow(staff=VIEW_ROLES)],
    session: SessionDep,
    status: Literal["open", "done"] = "open",
) -> list[CallbackRead]:
    """Open tasks by deadline (soonest first), or the latest done ones."""
    return [service.read(session, t) for t in service.list_tasks(session, status=status)]


@router.post("/callbacks/{callback_id}/done", responses=error_responses(400, 404, 409))
def complete_callback(
    callback_id: CallbackId,
    data: CallbackDone,
    caller: Annotated[Caller, allow(staff=AGENT_ROLES)],
    session: TxSessionDep,
) -> CallbackRead:
    staff_id = caller.staff.staff_id if caller.staff else None
    return service.read(session, service.complete(session, callback_id, staff_id=staff_id, note=data.note))
