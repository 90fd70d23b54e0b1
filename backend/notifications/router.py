"""`/notifications`: the channels enqueue pushes (replies that cannot go out as customer-service
messages), report SMS opt-outs and WeChat unfollows; the admin lists dead pushes and sets a
customer's preferred channel."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from backend.core.clock import to_local
from backend.core.deps import Role, SessionDep, require
from backend.core.errors import error_responses
from backend.core.schemas import NO_NUL
from backend.core.tx import TxSessionDep
from backend.notifications import service
from backend.notifications.schemas import (
    DeliveryReports,
    DeliveryReportsRead,
    NotificationCreate,
    NotificationDetail,
    NotificationRead,
    OptOutCreate,
    PreferredChannel,
    WechatFollow,
)

router = APIRouter(tags=["notifications"])


@router.post(
    "/notifications",
    status_code=201,
    dependencies=[require(Role.actions)],
    responses=error_responses(400, 404, 409),
)
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
    status: Literal["pending", "sent", "dead", "cancelled"] = "dead",
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


@router.post(
    "/notifications/opt-outs", status_code=204, dependencies=[require(Role.actions)], responses=error_responses(400)
)
def opt_out(data: OptOutCreate, session: TxSessionDep) -> None:
    """An SMS reply TD/T/退订: the number gets no more SMS from now on, but the urgent notices the
    utility owes (outage started or restored, hazards)."""
    service.block_sms(session, data.phone, "opt_out")


@router.delete("/notifications/opt-outs/{phone}", status_code=204, dependencies=[require(Role.actions)])
def opt_in(phone: Annotated[str, Path(pattern=r"^1[3-9]\d{9}$")], session: TxSessionDep) -> None:
    """An SMS reply 订阅 after an opt-out: SMS again (answered the same whether or not it had opted out)."""
    service.unblock_sms(session, phone)


@router.post("/notifications/delivery-reports", dependencies=[require(Role.actions)], responses=error_responses(400))
def delivery_reports(data: DeliveryReports, session: TxSessionDep) -> DeliveryReportsRead:
    """The SMS providers' delivery reports, handed over by the webhook gateway: a push is marked
    delivered, or sent again by another channel when the SMS did not arrive."""
    applied, resent, unknown = service.record_deliveries(session, data.reports)
    return DeliveryReportsRead(applied=applied, resent=resent, unknown=unknown)


@router.put(
    "/notifications/wechat-followers/{openid}",
    status_code=204,
    dependencies=[require(Role.actions)],
    responses=error_responses(400),
)
def wechat_follow(
    openid: Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)], data: WechatFollow, session: TxSessionDep
) -> None:
    """The WeChat channel reports a subscribe / unsubscribe event: no WeChat push reaches an
    unfollowed user, so the notifier goes straight to SMS until they follow again."""
    service.set_wechat_following(session, openid, data.following)


@router.put("/customers/{account_no}/preferred-channel", dependencies=[require()], responses=error_responses(400, 404))
def preferred_channel(
    account_no: Annotated[str, Path(pattern=r"^\d{10}$")], data: PreferredChannel, session: TxSessionDep
) -> PreferredChannel:
    """Admin: the customer asked to be told by SMS first (or WeChat first again)."""
    row = service.set_preferred_channel(session, account_no, data.channel)
    return PreferredChannel(channel=row.preferred_channel)  # type: ignore[arg-type]
