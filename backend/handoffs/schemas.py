"""Hand-off request and answer shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.core.schemas import RequestModel
from backend.tickets.schemas import Channel


class TranscriptLine(RequestModel):
    model_config = ConfigDict(populate_by_name=True)

    sender: str = Field(alias="from", min_length=1, max_length=32)
    text: str = Field(max_length=4000)
    at: datetime


class HandoffCreate(RequestModel):
    channel: Channel
    sender_id: str = Field(min_length=1, max_length=64)
    account_no: str | None = Field(default=None, pattern=r"^\d{10}$")
    transcript: list[TranscriptLine] = Field(default_factory=list, max_length=200)


class HandoffRead(BaseModel):
    id: int
    channel: str
    sender_id: str
    account_no: str | None
    status: str
    queue_position: int | None
    estimated_wait_minutes: int | None
    created_at: datetime
