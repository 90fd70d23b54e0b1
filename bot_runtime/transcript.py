"""The full transcript of every conversation: each thing the customer and the assistant said, in order.

The tracker store (bot_runtime/tracker_store.py) folds all but a conversation's last turns away so
that a long conversation costs what a short one does; what was said before is kept here, never
compacted, for the person who takes a conversation over (actions/converse.py) and the reports.

One Redis list per conversation, `pd:transcript:<sender>` (`pd`: the deployment's namespace,
`POWERDESK_NAMESPACE`), one JSON line per utterance:
`{"who": "customer" | "assistant", "text": ..., "at": <epoch seconds>}`. The tracker store appends
the lines new since its last save in the same MULTI/EXEC as the tracker, so the two never disagree.
A list keeps its last `MAX_LINES` lines and expires `POWERDESK_TRANSCRIPT_RETENTION_DAYS` (default
30) after its last line.

No Rasa import: the action server reads it too (`recent`), with its own short-lived connection per
read, since only a hand-off reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio
from redis.client import Pipeline

from platforms.settings import namespace, transcript_retention_seconds

#: a conversation's transcript keeps its last this many lines
MAX_LINES = 2000
#: seconds a Redis call may take before it fails (as the lock and tracker stores)
SOCKET_TIMEOUT = 2.0

Who = Literal["customer", "assistant"]


@dataclass(frozen=True)
class Line:
    """One utterance: who said it, what, and when (epoch seconds)."""

    who: Who
    text: str
    at: float

    def dump(self) -> str:
        return json.dumps({"who": self.who, "text": self.text, "at": self.at}, ensure_ascii=False)

    @classmethod
    def load(cls, raw: str | bytes) -> Line:
        data: dict[str, Any] = json.loads(raw)
        who = data["who"]
        if who not in ("customer", "assistant"):
            raise ValueError(f"not a transcript speaker: {who!r}")
        return cls(who, str(data["text"]), float(data["at"]))


def key(sender: str) -> str:
    return f"{namespace()}:transcript:{sender}"


def append(pipe: Pipeline, sender: str, lines: Iterable[Line]) -> None:
    """Queue on `pipe` (the caller's MULTI) the lines appended to `sender`'s transcript, the cap and
    the retention refreshed; nothing when there are no lines."""
    dumped = [line.dump() for line in lines]
    if not dumped:
        return
    pipe.rpush(key(sender), *dumped)
    pipe.ltrim(key(sender), -MAX_LINES, -1)
    pipe.expire(key(sender), int(transcript_retention_seconds()))


async def recent(redis_url: str, sender: str, count: int) -> list[Line]:
    """The last `count` lines of `sender`'s transcript, oldest first ([] when there is none).
    Raises RedisError when Redis cannot be reached and ValueError on a line not written here."""
    client = redis.asyncio.Redis.from_url(
        redis_url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
    )
    try:
        raw = await client.lrange(key(sender), -count, -1)
    finally:
        await client.close(close_connection_pool=True)
    return [Line.load(item) for item in raw]
