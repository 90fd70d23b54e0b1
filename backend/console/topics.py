"""The topics a console page may watch on its live stream, and who may watch each.

To add a page's live data (the dispatchers' view, reports): write its `read` (and a cheap
`fingerprint`) in its domain, as `backend/handoffs/live.py` does, and register it here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.callbacks import service as callbacks
from backend.callbacks.enums import CallbackStatus
from backend.console.live import Topic
from backend.core.config import Settings
from backend.handoffs import live as handoffs
from backend.live import service as live
from backend.staff.roles import COMMAND_ROLES, VIEW_ROLES


def _open_callbacks(session: Session, settings: Settings, _: str) -> Any:
    return [
        callbacks.read(session, t).model_dump(mode="json")
        for t in callbacks.list_tasks(session, status=CallbackStatus.open.value)
    ]


TOPICS: dict[str, Topic] = {
    # waiting customers and the conversations agents hold
    "queue": Topic(VIEW_ROLES, handoffs.queue, handoffs.queue_fingerprint),
    # one conversation: "handoff:<id>"
    "handoff": Topic(VIEW_ROLES, handoffs.conversation, handoffs.conversation_fingerprint, argument=str.isdigit),
    # agents online, conversations per agent, waiting times
    "overview": Topic(VIEW_ROLES, handoffs.overview),
    # callback tasks not done yet
    "callbacks": Topic(VIEW_ROLES, _open_callbacks),
    # the command centre's live view (调度监控): tickets, outages, the grid, deadlines, workers, storm
    "live": Topic(COMMAND_ROLES, live.console_state, live.console_fingerprint),
}
