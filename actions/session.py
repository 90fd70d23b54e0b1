"""A new session: who is talking (the backend's `/identity`), remembered in the conversation state."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.journal import retrier
from clients.backend import BackendClient
from dialogue import identity
from dialogue.state import State


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        client = BackendClient.from_env()
        retrier.resume_after_restart(client)
        channel = tracker.get_latest_input_channel() or "rest"
        known = await identity.lookup(client, channel, tracker.sender_id)
        return [
            SessionStarted(),
            SlotSet("conversation", State(identity=known).dump()),
            ActionExecuted("action_listen"),
        ]
