"""Request and answer shapes of `/notifications`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from backend.core.schemas import RequestModel

Phone = Field(default=None, pattern=r"^1[3-9]\d{9}$")


class Recipient(RequestModel):
    wechat_openid: str | None = Field(default=None, min_length=1, max_length=64)
    account_no: str | None = Field(default=None, pattern=r"^\d{10}$")
    phone: str | None = Phone
    wecom_user_id: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> Recipient:
        if len(self.model_dump(exclude_none=True)) != 1:
            raise ValueError("give exactly one of wechat_openid, account_no, phone, wecom_user_id")
        return self


ParamName = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
ParamValue = Annotated[str, StringConstraints(max_length=1000)] | int | float | bool | None


class NotificationCreate(RequestModel):
    recipient: Recipient
    template: str = Field(min_length=1, max_length=64)
    #: the template's variables: at most 20, named like `ticket_no`, each a short value
    params: dict[ParamName, ParamValue] = Field(default_factory=dict, max_length=20)
    dedup_key: str = Field(min_length=1, max_length=255)
    urgent: bool = False


class NotificationRead(BaseModel):
    id: int
    status: Literal["pending", "sent", "dead", "cancelled"]


class NotificationDetail(NotificationRead):
    dedup_key: str
    template: str
    recipient_key: str | None
    attempts: int
    channel: str | None
    last_error: str | None
    created_at: datetime | None


class OptOutCreate(RequestModel):
    phone: str = Field(pattern=r"^1[3-9]\d{9}$")


class DeliveryReport(RequestModel):
    """One provider delivery report (platforms/sms/protocol.py `DeliveryReport.payload`)."""

    provider: Literal["aliyun", "tencent"]
    phone: str = Field(pattern=r"^1[3-9]\d{9}$")
    #: the provider's message id: Aliyun BizId, Tencent SerialNo (sid)
    msg_id: str = Field(min_length=1, max_length=128)
    #: our id when the provider echoes it (Aliyun OutId, "pd<outbox id>"), else ""
    out_id: str = Field(default="", max_length=64)
    delivered: bool
    code: str = Field(default="", max_length=64)


class DeliveryReports(RequestModel):
    reports: list[DeliveryReport] = Field(min_length=1, max_length=100)


class DeliveryReportsRead(BaseModel):
    #: reports that matched a push and changed it (a repeated report changes nothing)
    applied: int
    #: pushes sent again by another channel because the SMS did not arrive
    resent: int
    #: reports that matched no push (sent by hand, or already pruned)
    unknown: int


class WechatFollow(RequestModel):
    following: bool


class PreferredChannel(RequestModel):
    #: "sms": SMS first; "wechat" or null: the usual order (WeChat, then SMS)
    channel: Literal["sms", "wechat"] | None = None
