"""`/notifications`: the channels enqueue pushes (replies that cannot go out as customer-service
messages), report SMS opt-outs; the admin lists dead pushes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from backend.core.clock import to_local
from backend.core.deps import Role, SessionDep, require
from backend.core.tx import TxSessionDep
from backend.notifications import service
from backend.notifications.schemas import (
    NotificationCreate,
    NotificationDetail,
    NotificationRead,
    OptOutCreate,
)

router = APIRouter(tags=["notifications"])


@router.post("/notifications", status_code=201, dependencies=[require(Role.actions, Role.worker)])
def create_notification(data: NotificationCreate, session: TxSessionDep) -> NotificationRead:
    row = service.request_push(
        session,
        recipient=data.recipient.model_dump(exclude_none=True),
        template=data.template,
        params=data.params,
        dedup_key=data.dedup_key,
        urgent=data.urgent,
    )
    return NotificationRead(id=row.id, status=row.status)  # type: ignore[arg-type]


@router.get("/notifications", dependencies=[require()])
def list_notifications(
    session: SessionDep,
    status: Literal["pending", "sent", "dead"] = "dead",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[NotificationDetail]:
    return [
        NotificationDetail(
            id=row.id,
            status=row.status,  # type: ignore[arg-type]
            dedup_key=row.dedup_key,
            template=row.template,
            recipient_key=row.recipient_key,
            attempts=row.attempts,
            channel=row.channel,
            last_error=row.last_error,
            created_at=to_local(row.created_at),
        )
        for row in service.rows_by_status(session, status=status, limit=limit)
    ]


@router.post("/notifications/opt-outs", status_code=204, dependencies=[require(Role.actions)])
def opt_out(data: OptOutCreate, session: TxSessionDep) -> None:
    """An SMS reply TD/退订: the number gets no more SMS, from now on."""
    service.block_sms(session, data.phone, "opt_out")
