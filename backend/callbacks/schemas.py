"""Callback task request and answer shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from backend.core.schemas import RequestModel
from backend.tickets.schemas import Channel


class CallbackCreate(RequestModel):
    channel: Channel
    sender_id: str = Field(min_length=1, max_length=64)
    account_no: str | None = Field(default=None, pattern=r"^\d{10}$")
    phone: str = Field(pattern=r"^1[3-9]\d{9}$")
    reason: str = Field(min_length=1, max_length=500)


class CallbackCreated(BaseModel):
    id: int
    #: the customer is called by then (service hours counted, docs/contracts.md)
    contact_deadline: datetime


class CallbackDone(RequestModel):
    note: str = Field(min_length=1, max_length=500)


class CallbackRead(BaseModel):
    id: int
    channel: str
    account_no: str | None
    phone: str
    reason: str
    status: Literal["open", "done"]
    contact_deadline: datetime
    overdue: bool
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    note: str | None
