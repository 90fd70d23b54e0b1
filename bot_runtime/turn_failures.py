"""A turn whose custom action failed fails as a whole, so that the channel keeps the message.

Rasa 3.6 catches every exception of an action (`MessageProcessor._run_action`), logs "Bot will
continue, but the actions events are lost" and goes on: the tracker is saved with the customer's
message and without what the action should have done, the customer may get nothing, and the
channel cannot tell (RELIABILITY row 42). Two methods are wrapped, declared and applied with the
other patches by bot_runtime/rasa_patches.py (from the rasa server's launcher):

- `RemoteAction.run` records its failure in a context variable of the running task (the turn);
- `MessageProcessor._run_action` raises `TurnFailed` right after such an action, which ends the
  prediction loop and `handle_message` before the tracker is saved.

The channel keeps the message pending and retries it (bot_runtime/_inbox.py) from the tracker as it
was before; actions write to the backend with the message's key as Idempotency-Key, so a retried
turn does not write twice. A rejection (`ActionExecutionRejection`) is a normal answer, not a failure.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import aiohttp
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.processor import MessageProcessor
from rasa.utils.endpoints import ClientResponseError

#: the action server (or what stands in front of it) is unreachable or overloaded
_UNAVAILABLE_STATUSES = {502, 503, 504}


class TurnFailed(Exception):
    """An action of the turn failed; `unavailable` when the action server could not be reached
    (the message is not to blame: it waits, its attempts are not counted)."""

    def __init__(self, action: str, unavailable: bool) -> None:
        self.action = action
        self.unavailable = unavailable
        super().__init__(f"action {action} failed ({'action server unavailable' if unavailable else 'error'})")


_failure: contextvars.ContextVar[TurnFailed | None] = contextvars.ContextVar("pd_action_failure", default=None)


def unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the action server was unreachable or too slow."""
    for error in (exc, exc.__cause__, exc.__context__):
        if isinstance(error, aiohttp.ClientConnectionError | asyncio.TimeoutError):
            return True
        if isinstance(error, ClientResponseError) and error.status in _UNAVAILABLE_STATUSES:
            return True
    return False


_remote_run = RemoteAction.run
_run_action = MessageProcessor._run_action


async def _run_remote(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
    try:
        return await _remote_run(self, *args, **kwargs)
    except ActionExecutionRejection:
        raise
    except Exception as exc:
        _failure.set(TurnFailed(self.name(), unavailable(exc)))
        raise


async def _run_action_or_fail(self: MessageProcessor, *args: Any, **kwargs: Any) -> bool:
    token = _failure.set(None)
    try:
        go_on: bool = await _run_action(self, *args, **kwargs)
        failed = _failure.get()
    finally:
        _failure.reset(token)
    if failed is not None:
        raise failed
    return go_on
