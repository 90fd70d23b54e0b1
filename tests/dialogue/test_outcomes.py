"""What the reports learn from conversations (dialogue/outcomes.py), read from the backend's
database: each message nothing was understood of is a `fallback`; a conversation the assistant
answered itself is counted once a day (`resolved`); one handed to a person is not."""

from __future__ import annotations

import sqlite3

from dialogue.message import FALLBACK
from tests.dialogue.conftest import Backend, Chat


def events(backend: Backend, sender_id: str) -> list[str]:
    with sqlite3.connect(backend.env["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        query = "SELECT kind FROM conversation_event WHERE sender_id = ? ORDER BY id"
        return [kind for (kind,) in db.execute(query, (sender_id,))]


def test_each_misunderstood_message_and_one_answered_conversation_a_day(backend: Backend, chat: Chat) -> None:
    chat.say("阿巴阿巴", intent=FALLBACK, confidence=0.1)
    chat.say("这个月电费多少", intent="query_bill")
    chat.say("怎么交电费", intent="payment_methods")  # answered again the same day: counted once
    chat.say("嗯啊哦", intent=FALLBACK, confidence=0.1)
    assert events(backend, chat.sender_id) == ["fallback", "resolved", "fallback"]
    assert chat.state.counted_on is not None


def test_a_conversation_that_asks_for_a_person_is_not_counted_as_answered(backend: Backend, chat: Chat) -> None:
    chat.say("转人工", intent="request_human")  # nobody on duty: a callback is offered
    chat.say("人呢", intent=FALLBACK, confidence=0.2)
    assert "resolved" not in events(backend, chat.sender_id)
