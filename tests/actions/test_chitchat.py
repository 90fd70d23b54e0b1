"""Emoji-only messages, other utilities and abandoned forms."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.chitchat import ActionClarify, ActionOutOfScope, ActionResetForms
from tests.actions.conftest import make_tracker, responses


async def test_emoji_only_is_asked_for_words(domain: dict[str, Any]) -> None:
    for tracker in (
        make_tracker("o-e", "😀", "affirm"),
        make_tracker("o-e", "[微笑]", "nlu_fallback", metadata={"message_key": "k", "emoji_only": True}),
    ):
        dispatcher = CollectingDispatcher()
        await ActionClarify().run(dispatcher, tracker, domain)
        assert responses(dispatcher) == ["utter_emoji_only"]
    dispatcher = CollectingDispatcher()
    await ActionClarify().run(dispatcher, make_tracker("o-e", "嗯嗯那个", "nlu_fallback"), domain)
    assert responses(dispatcher) == ["utter_default"]


async def test_gas_and_water_are_other_utilities(domain: dict[str, Any]) -> None:
    said = []
    for text in ("家里停水了", "燃气费怎么交", "今天天气怎么样"):
        dispatcher = CollectingDispatcher()
        await ActionOutOfScope().run(dispatcher, make_tracker("o-o", text, "out_of_scope"), domain)
        said += responses(dispatcher)
    assert said == ["utter_other_utility", "utter_other_utility", "utter_out_of_scope"]


async def test_reset_clears_only_filled_form_slots(domain: dict[str, Any]) -> None:
    slots = {"description": "没电了", "report_account": "31******01", "identity_kind": "customer"}
    events = await ActionResetForms().run(CollectingDispatcher(), make_tracker("o-r", slots=slots), domain)
    assert {e["name"]: e["value"] for e in events} == {"report_account": None, "description": None}
