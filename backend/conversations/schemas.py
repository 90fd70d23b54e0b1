"""Conversation outcome shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from backend.core.schemas import RequestModel
from backend.tickets.schemas import Channel

#: the most events one batch may carry (the action server sends at most 100 at a time)
MAX_BATCH = 500


class ConversationEventCreate(RequestModel):
    sender_id: str = Field(min_length=1, max_length=64)
    channel: Channel
    kind: Literal["fallback", "handoff", "resolved"]
    at: AwareDatetime


class ConversationEventRead(BaseModel):
    #: `recorded`, or `duplicate` when the same event was posted before (nothing is stored twice)
    status: Literal["recorded", "duplicate"]


class ConversationEventBatch(RequestModel):
    events: list[ConversationEventCreate] = Field(min_length=1, max_length=MAX_BATCH)


class ConversationEventBatchRead(BaseModel):
    #: events stored by this batch
    recorded: int
    #: events of the batch stored before (a retried batch) or repeated in it: stored once
    duplicates: int
