"""Ticket request and answer shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from backend.core.schemas import NO_NUL, RequestModel

Channel = Literal["wechat", "wecom", "sms", "rest", "phone", "web"]
TicketKind = Literal["repair", "hazard", "complaint", "fault"]
Priority = Literal["urgent", "high", "normal"]


class WorkerContact(BaseModel):
    """The grid worker as a customer is told of them: a work phone to call, so in full."""

    name: str
    phone: str


class ComplaintCreate(RequestModel):
    kind: Literal["complaint"]
    account_no: str | None = Field(default=None, pattern=r"^\d{10}$")
    channel: Channel
    sender_id: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=2000)
    callback_phone: str | None = Field(default=None, pattern=r"^1\d{10}$")


class TicketEventCreate(RequestModel):
    type: Literal["accept", "arrive", "resolve", "close", "cancel"]
    worker_code: str | None = Field(default=None, min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=1000)


class TicketAssign(RequestModel):
    worker_code: str = Field(min_length=1, max_length=32)


class RatingCreate(RequestModel):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


class PraiseCreate(RequestModel):
    #: what the customer said, as they said it
    text: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


class WithdrawalCreate(RequestModel):
    #: why, in the customer's words ("已经来电了，不用修了")
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


class PhotoCreate(RequestModel):
    media_id: str | None = Field(default=None, min_length=1, max_length=128)
    url: str | None = Field(default=None, pattern=r"^https?://", max_length=500)

    @model_validator(mode="after")
    def _one(self) -> PhotoCreate:
        if (self.media_id is None) == (self.url is None):
            raise ValueError("give exactly one of media_id and url")
        return self


class TimelineItem(BaseModel):
    type: str
    at: datetime
    actor: str
    note: str | None


class TicketWorker(BaseModel):
    code: str
    name: str
    phone: str


class TicketRead(BaseModel):
    ticket_no: str
    kind: TicketKind
    status: str
    #: with status `merged`: the fault ticket this report was absorbed into
    merged_into: str | None = None
    priority: Priority
    account_no: str | None
    address: str | None
    description: str
    channel: str
    created_at: datetime
    arrival_deadline: datetime | None
    restore_deadline: datetime | None
    contact_deadline: datetime | None
    answer_deadline: datetime | None
    worker: TicketWorker | None
    backup: TicketWorker | None
    outage_id: int | None
    resolution: str | None
    rating: int | None
    photos: list[str]
    timeline: list[TimelineItem]
