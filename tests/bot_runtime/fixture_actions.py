"""Two actions for the action server's own tests (bot_runtime/action_server.py), bot env.

`action_read_account` answers with the `accounts` slot it was sent and records the call in the file
`FIXTURE_ACTIONS_LOG` names, so a test can tell whether an action ran at all; `action_fail` raises.
"""

from __future__ import annotations

import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ReadAccount(Action):
    def name(self) -> str:
        return "action_read_account"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Any]:
        with open(os.environ["FIXTURE_ACTIONS_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{tracker.sender_id}\n")
        dispatcher.utter_message(text=f"accounts={tracker.get_slot('accounts')}")
        return []


class Fail(Action):
    def name(self) -> str:
        return "action_fail"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Any]:
        raise RuntimeError("action broke while reading the request")
