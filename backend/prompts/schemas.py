"""Prompt request and answer shapes: the questions pushes asked, and the customer's answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from backend.core.schemas import RequestModel
from backend.tickets.schemas import WorkerContact

PromptKind = Literal["restore_check", "rating"]


class PromptRead(BaseModel):
    id: int
    #: `restore_check`: 回复1已来电，2仍未来电; `rating`: 回复1-5打分
    kind: PromptKind
    ticket_no: str | None = None
    outage_id: int | None = None
    asked_at: datetime


class PromptAnswer(RequestModel):
    """`restored` answers a `restore_check`, `score` a `rating`: exactly one of them."""

    restored: bool | None = None
    score: int | None = Field(default=None, ge=1, le=5)

    @model_validator(mode="after")
    def _one(self) -> PromptAnswer:
        if (self.restored is None) == (self.score is None):
            raise ValueError("give exactly one of restored and score")
        return self


class AnswerTicket(BaseModel):
    ticket_no: str
    deadline: datetime | None
    worker: WorkerContact | None


class PromptAnswerRead(BaseModel):
    #: `thanked` (power is back; `next_prompt` is the rating, for the chat to ask in its reply),
    #: `ticket_created` (still no power: the customer's own ticket, dispatched with priority),
    #: `rated`
    outcome: Literal["thanked", "ticket_created", "rated"]
    ticket: AnswerTicket | None = None
    next_prompt: PromptRead | None = None
