"""`/outages/{id}/confirm`, `/dismiss`, `/estimate`: a worker on site (through the WeCom chat, with
the actions token and their `worker_code`) or a dispatcher (admin) settles a suspected fault, or
gives an outage a new estimated restoration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from backend.core.deps import Role, SettingsDep, caller_role, require
from backend.core.errors import error_responses
from backend.core.tx import TxSessionDep
from backend.faults import service
from backend.faults.schemas import EstimateUpdate, FaultConfirm, FaultDismiss
from backend.outages import service as outages
from backend.outages.schemas import OutageRead

router = APIRouter(tags=["faults"])
OutageId = Annotated[int, Path(ge=1, le=2_147_483_647)]
CallerRole = Annotated[Role, Depends(caller_role)]
RESPONSES = error_responses(400, 404, 409)


@router.post("/outages/{outage_id}/confirm", dependencies=[require(Role.actions, Role.worker)], responses=RESPONSES)
def confirm(
    outage_id: OutageId, data: FaultConfirm, session: TxSessionDep, settings: SettingsDep, role: CallerRole
) -> OutageRead:
    """A suspected fault becomes active with its cause and estimate; every customer concerned is told."""
    outage = service.confirm(
        session, settings, outage_id, cause=data.cause, estimated_restore_at=data.estimated_restore_at,
        worker_code=data.worker_code, worker_required=role is not Role.admin,
    )  # fmt: skip
    return outages.read(session, outage, detail=True)


@router.post("/outages/{outage_id}/dismiss", dependencies=[require(Role.actions, Role.worker)], responses=RESPONSES)
def dismiss(
    outage_id: OutageId, data: FaultDismiss, session: TxSessionDep, settings: SettingsDep, role: CallerRole
) -> OutageRead:
    """Not a line fault: the reports it absorbed become tickets of their own again, each reporter told."""
    outage = service.dismiss(
        session, settings, outage_id, reason=data.reason, worker_code=data.worker_code,
        worker_required=role is not Role.admin,
    )  # fmt: skip
    return outages.read(session, outage, detail=True)


@router.post("/outages/{outage_id}/estimate", dependencies=[require(Role.actions, Role.worker)], responses=RESPONSES)
def estimate(
    outage_id: OutageId, data: EstimateUpdate, session: TxSessionDep, settings: SettingsDep, role: CallerRole
) -> OutageRead:
    """A new estimated restoration (asked for when the last one passed); everyone told of the outage hears it."""
    outage = service.set_estimate(
        session, settings, outage_id, estimated_restore_at=data.estimated_restore_at,
        worker_code=data.worker_code, worker_required=role is not Role.admin,
    )  # fmt: skip
    return outages.read(session, outage, detail=True)
