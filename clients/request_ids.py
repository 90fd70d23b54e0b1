"""The request id the bot-env processes send with their calls to the backend (`X-Request-ID`,
docs/contracts.md "Request ids and metrics"): the dedup key of the inbound message being handled,
so that the backend's log lines and the pushes it writes (`outbox_message.trace_id`) name the
message that caused them.

The backend takes 1-64 of `A-Z a-z 0-9 . _ : -`. A WeChat message's key (`wx:<appid>:<MsgId>`)
fits; a key that does not (an event's key with its openid and event key, an SMS provider's id
with `^`) is sent as its channel prefix and a digest of it: the same key, the same id.

`current` is the id of the message the running task handles: the rasa server's channels set it
for each try of a journalled message (bot_runtime/_inbox.py), and what runs in that task, or in a
thread it starts with `asyncio.to_thread`, sends it (bot_runtime/push.py). The action server
has no such task: it gives the client the message id of the tracker it is called with.
"""

from __future__ import annotations

import hashlib
import re
from contextvars import ContextVar

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,16}")

current: ContextVar[str | None] = ContextVar("powerdesk_request_id", default=None)


def of_message(key: str) -> str:
    """The request id of the inbound message whose dedup key is `key`."""
    if _VALID.fullmatch(key):
        return key
    prefix = key.partition(":")[0]
    return f"{prefix if _PREFIX.fullmatch(prefix) else 'msg'}:{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def headers(request_id: str | None) -> dict[str, str]:
    """The header carrying `request_id`, none without one."""
    return {HEADER: request_id} if request_id else {}
