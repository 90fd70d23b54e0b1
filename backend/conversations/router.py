"""`/conversation-events`: the chat layer reports turn outcomes (for containment and fallback figures),
in batches (`/conversation-events/batch`, what the action server sends) or one at a time."""

from __future__ import annotations

from fastapi import APIRouter, Response

from backend.conversations import service
from backend.conversations.schemas import (
    ConversationEventBatch,
    ConversationEventBatchRead,
    ConversationEventCreate,
    ConversationEventRead,
)
from backend.core.deps import Role, require
from backend.core.errors import error_responses
from backend.core.tx import FactoryDep

router = APIRouter(tags=["conversations"])


@router.post(
    "/conversation-events",
    status_code=201,
    dependencies=[require(Role.actions)],
    responses={**error_responses(400), 200: {"model": ConversationEventRead, "description": "A duplicate"}},
)
def record_event(data: ConversationEventCreate, factory: FactoryDep, response: Response) -> ConversationEventRead:
    """Record one turn outcome; posting the same event again stores nothing (200 `duplicate`)."""
    if service.record(factory, [data]):
        return ConversationEventRead(status="recorded")
    response.status_code = 200
    return ConversationEventRead(status="duplicate")


@router.post(
    "/conversation-events/batch",
    dependencies=[require(Role.actions)],
    responses=error_responses(400),
)
def record_batch(data: ConversationEventBatch, factory: FactoryDep) -> ConversationEventBatchRead:
    """Record up to 500 turn outcomes in one transaction, each once: an event posted before (a
    retried batch) counts as a duplicate and is not stored again."""
    recorded = service.record(factory, data.events)
    return ConversationEventBatchRead(recorded=recorded, duplicates=len(data.events) - recorded)
