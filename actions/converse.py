"""The one action of the assistant: every message is answered by the conversation (dialogue/).

Rasa does the understanding (jieba, intents, entities) and carries the conversation; this adapter
turns the tracker into a `Message` and the remembered `State` (slot `conversation`), runs the turn,
and hands back what to say (domain responses) and the new state. The turn's conversation events go
to the batcher (actions/outcomes.py), which sends them to the backend later. Its calls to the
backend carry the message's dedup key (Rasa's `message_id`, the journal's key) as their request id.
A person who takes the conversation over gets it from the full transcript (bot_runtime/transcript.py),
read only then: the tracker holds only the last turns of a long conversation.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from redis.exceptions import RedisError

from actions import outcomes
from actions.journal import Keeper
from bot_runtime import metrics, transcript
from clients import request_ids
from clients.backend import BackendClient
from dialogue import engine, handoff
from dialogue.message import FALLBACK, Message
from dialogue.state import State

logger = logging.getLogger(__name__)

#: lines of the tracker's own events a hand-off carries when the transcript cannot be read
HISTORY_LINES = 30


def message_of(tracker: Tracker) -> Message:
    latest = tracker.latest_message or {}
    intent = latest.get("intent") or {}
    ranking = tuple(
        (str(item.get("name")), float(item.get("confidence") or 0))
        for item in latest.get("intent_ranking") or []
        if item.get("name") and item.get("name") != FALLBACK
    )
    entities: dict[str, str] = {}
    for found in latest.get("entities") or []:
        entities.setdefault(str(found.get("entity")), str(found.get("value")))
    return Message(
        text=str(latest.get("text") or ""),
        intent=str(intent.get("name") or FALLBACK),
        confidence=float(intent.get("confidence") or 0),
        ranking=ranking,
        entities=entities,
        metadata=dict(latest.get("metadata") or {}),
        channel=tracker.get_latest_input_channel() or "rest",
        sender_id=tracker.sender_id,
    )


def request_id_of(tracker: Tracker) -> str | None:
    """The request id of the message being answered: its dedup key, which the channel gave Rasa."""
    key = (tracker.latest_message or {}).get("message_id")
    return request_ids.of_message(str(key)) if key else None


async def history(tracker: Tracker) -> list[dict[str, Any]]:
    """The conversation before this message, for a person who takes it over: the last lines of its
    full transcript, which the rasa server appends as it saves each turn (so this message is not
    in it yet); what the tracker still holds when the transcript is empty or cannot be read."""
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        try:
            lines = await transcript.recent(redis_url, tracker.sender_id, handoff.TRANSCRIPT_LINES)
        except (RedisError, ValueError, KeyError) as exc:
            logger.warning("hand-off of %s: transcript unreadable (%s), the recent turns only", tracker.sender_id, exc)
        else:
            if lines:
                return [_handoff_line(line) for line in lines]
    return history_of(tracker)


def _handoff_line(line: transcript.Line) -> dict[str, Any]:
    moment = datetime.fromtimestamp(line.at, timezone.utc).isoformat()
    return {"from": "customer" if line.who == "customer" else "bot", "text": line.text, "at": moment}


def history_of(tracker: Tracker) -> list[dict[str, Any]]:
    """The conversation so far as the tracker holds it (its last turns)."""
    lines = []
    for event in tracker.events:
        if event.get("event") not in ("user", "bot") or not event.get("text"):
            continue
        stamp = event.get("timestamp")
        moment = datetime.fromtimestamp(float(stamp), timezone.utc) if stamp else datetime.now(timezone.utc)
        who = "customer" if event["event"] == "user" else "bot"
        lines.append({"from": who, "text": str(event["text"]), "at": moment.isoformat()})
    return lines[-HISTORY_LINES:-1] if lines and lines[-1]["from"] == "customer" else lines[-HISTORY_LINES:]


class ActionConverse(Action):
    def name(self) -> str:
        return "action_converse"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Any]:
        client = BackendClient.from_env().with_request_id(request_id_of(tracker))
        state = State.load(tracker.get_slot("conversation"))
        message = message_of(tracker)
        if message.intent == FALLBACK:
            metrics.NLU_FALLBACKS.labels(message.channel).inc()
        turn = await engine.respond(state, message, client, Keeper(client), lambda: history(tracker))
        outcomes.batcher.add(turn.outcomes)
        for say in turn.replies:
            dispatcher.utter_message(response=say.response, **say.params)
        person = handoff.relayed_to(turn.state)
        if person is not None:  # the channel passes the next messages straight to the person
            dispatcher.utter_message(json_message={handoff.RELAY_PAYLOAD: person})
        return [SlotSet("conversation", turn.state.dump())]
