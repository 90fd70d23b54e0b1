"""Request and answer shapes of `/notifications`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

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


class NotificationCreate(RequestModel):
    recipient: Recipient
    template: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
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


class WechatFollow(RequestModel):
    following: bool


class PreferredChannel(RequestModel):
    #: "sms": SMS first; "wechat" or null: the usual order (WeChat, then SMS)
    channel: Literal["sms", "wechat"] | None = None
