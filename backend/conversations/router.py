"""`/conversation-events`: the chat layer reports turn outcomes (for containment and fallback figures)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from backend.conversations import service
from backend.conversations.schemas import ConversationEventCreate, ConversationEventRead
from backend.core.deps import Role, require
from backend.core.errors import error_responses
from backend.core.tx import TxSessionDep

router = APIRouter(tags=["conversations"])


@router.post(
    "/conversation-events",
    status_code=201,
    dependencies=[require(Role.actions)],
    responses={**error_responses(400), 200: {"model": ConversationEventRead, "description": "A duplicate"}},
)
def record_event(data: ConversationEventCreate, session: TxSessionDep, response: Response) -> ConversationEventRead:
    """Record one turn outcome; posting the same event again stores nothing (200 `duplicate`)."""
    if service.record(session, data):
        return ConversationEventRead(status="recorded")
    response.status_code = 200
    return ConversationEventRead(status="duplicate")
