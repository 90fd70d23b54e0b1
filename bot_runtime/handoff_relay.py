"""A customer who waits for (or talks to) a person writes to that person, not to the assistant
(issue 20): the channel passes such a message straight to the hand-off, without a Rasa turn, so
fifty customers waiting for agents cost the assistant almost nothing for everyone else.

Whether the person has the conversation is the dialogue's to say: after each turn in which its
hand-off is the task on the table, the assistant's reply carries `{"handoff_id": …}` as a custom
payload (actions/converse.py), and the channel keeps that id in Redis
(`pd:handoff:relay:<channel>:<sender>`). For a sender so marked, a message that
`dialogue.handoff.passes_straight` lets through is posted to `POST /handoffs/{id}/customer-messages`;
the backend answers whether the hand-off is still open and whether this is the first message passed
on, which alone is acknowledged ("已转给人工客服，请稍候。", the domain's `utter_handoff_passed_on`).

Everything else takes the assistant's turn, whose dialogue passes the message on the same way
(slower): no mark, a message the assistant must read (cancel, restart, danger; the hazard it then
asks about is its task on the table, so the mark goes until the hand-off is on the table again), a
hand-off that has ended (the mark goes: the assistant answers from now on), and any failure of
Redis or the backend. A mark is a hint; the backend's status of the hand-off decides. The post
carries the message's request id (`request_ids.current`, set by the channel for each try).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from bot_runtime import metrics
from clients import request_ids
from clients.backend import BackendClient, BackendError, BackendRejected
from dialogue.handoff import RELAY_PAYLOAD, passes_straight
from dialogue.message import Message

logger = logging.getLogger(__name__)

ACKNOWLEDGEMENT = "utter_handoff_passed_on"
OPEN = ("waiting", "active")
#: a hand-off that outlives its mark is still passed on, by the assistant's turn
MARK_SECONDS = 24 * 3600


def _key(channel: str, sender: str) -> str:
    return f"pd:handoff:relay:{channel}:{sender}"


def handoff_in(messages: list[dict[str, Any]]) -> int | None:
    """The hand-off the assistant's reply says has the conversation (its custom payload), if any."""
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get(RELAY_PAYLOAD), int):
            return int(custom[RELAY_PAYLOAD])
    return None


class HandoffRelay:
    def __init__(self, redis: Redis, backend: BackendClient) -> None:
        self.redis = redis
        self.backend = backend
        #: the domain's acknowledgement; None until the model is loaded (nothing is passed on before)
        self.acknowledgement: str | None = None

    @classmethod
    def connect(cls, redis_url: str, backend_url: str, token: str) -> HandoffRelay:
        # Short timeouts: a hung Redis costs a message its shortcut, not its turn.
        redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return cls(redis, BackendClient(backend_url, token))

    def use_domain(self, responses: dict[str, list[dict[str, Any]]]) -> None:
        """Take the acknowledgement's words from the loaded model's domain responses."""
        variants = responses.get(ACKNOWLEDGEMENT) or []
        self.acknowledgement = str(variants[0]["text"]) if variants and variants[0].get("text") else None

    async def marked(self, channel: str, sender: str) -> int | None:
        """The hand-off the sender's messages go to, if the last turn said a person has them."""
        try:
            value = await asyncio.to_thread(self.redis.get, _key(channel, sender))
        except RedisError as exc:
            logger.warning("hand-off marks unreadable (%s): the assistant passes messages on", type(exc).__name__)
            return None
        return int(value) if value else None

    async def pass_on(
        self, channel: str, sender: str, handoff_id: int, text: str, metadata: dict[str, Any]
    ) -> str | None:
        """The reply when the message went to the person ("" for none), else None: the assistant's
        turn handles it."""
        message = Message(text, metadata=metadata, channel=channel, sender_id=sender)
        if self.acknowledgement is None or not passes_straight(message):
            return None
        at = datetime.now(timezone.utc).isoformat()
        try:
            backend = self.backend.with_request_id(request_ids.current.get())
            result = await backend.handoff_message(handoff_id, message.bare, at)
        except BackendRejected as exc:  # the hand-off is gone
            logger.info("hand-off %s takes no messages (%s)", handoff_id, exc.code)
            result = {"status": "ended"}
        except BackendError as exc:
            logger.warning("hand-off %s: message not passed on directly (%s)", handoff_id, exc)
            return None
        if result.get("status") not in OPEN:
            await self._mark(channel, sender, None)
            return None
        metrics.RELAYED.labels(channel).inc()
        return self.acknowledgement if result.get("acknowledge") else ""

    async def after_turn(self, channel: str, sender: str, marked: int | None, messages: list[dict[str, Any]]) -> None:
        """Keep the mark as the turn's reply says: a person has the conversation, or no longer."""
        now = handoff_in(messages)
        if now != marked:
            await self._mark(channel, sender, now)

    async def _mark(self, channel: str, sender: str, handoff_id: int | None) -> None:
        key = _key(channel, sender)
        try:
            if handoff_id is None:
                await asyncio.to_thread(self.redis.delete, key)
            else:
                await asyncio.to_thread(self.redis.set, key, str(handoff_id), ex=MARK_SECONDS)
        except RedisError as exc:
            logger.warning("hand-off mark of a %s sender not kept (%s)", channel, type(exc).__name__)
