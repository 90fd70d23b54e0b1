"""Conversation outcome shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from backend.core.schemas import RequestModel
from backend.tickets.schemas import Channel


class ConversationEventCreate(RequestModel):
    sender_id: str = Field(min_length=1, max_length=64)
    channel: Channel
    kind: Literal["fallback", "handoff", "resolved"]
    at: AwareDatetime


class ConversationEventRead(BaseModel):
    #: `recorded`, or `duplicate` when the same event was posted before (nothing is stored twice)
    status: Literal["recorded", "duplicate"]
