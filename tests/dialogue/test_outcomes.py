"""What the reports learn from conversations (dialogue/outcomes.py): each message nothing was
understood of is a `fallback` event; a conversation the assistant answered itself is `resolved` once
a day; one handed to a person is not, and a grid worker's talk is no customer conversation. The
events are left on the turn (for the action server to send later), never posted in it."""

from __future__ import annotations

from datetime import datetime

from dialogue.message import FALLBACK
from dialogue.phrases import SHANGHAI
from tests.dialogue.conftest import Backend, Chat, Place


def kinds(chat: Chat) -> list[str]:
    return [event["kind"] for event in chat.outcomes]


def test_each_misunderstood_message_and_one_answered_conversation_a_day(chat: Chat) -> None:
    chat.say("阿巴阿巴", intent=FALLBACK, confidence=0.1)
    chat.say("怎么交电费", intent="payment_methods")
    chat.say("你好", intent="greet")  # answered again the same day: counted once
    chat.say("嗯啊哦", intent=FALLBACK, confidence=0.1)
    assert kinds(chat) == ["fallback", "resolved", "fallback"]
    first = chat.outcomes[0]
    assert (first["channel"], first["sender_id"]) == ("wechat", chat.sender_id)
    assert datetime.fromisoformat(first["at"]).utcoffset() == SHANGHAI.utcoffset(None)
    today = datetime.now(SHANGHAI).date().isoformat()
    assert chat.state.counted_on == today and chat.state.dump()["counted_on"] == today
    chat.state.counted_on = "2026-01-01"  # the conversation goes on another day: counted again
    chat.say("怎么交电费", intent="payment_methods")
    assert kinds(chat)[-1] == "resolved"


def test_a_conversation_that_asks_for_a_person_is_not_counted_as_answered(chat: Chat) -> None:
    chat.say("转人工", intent="request_human")
    chat.say("人呢", intent=FALLBACK, confidence=0.2)
    assert kinds(chat) == ["fallback"]


def test_a_grid_worker_leaves_no_events(backend: Backend, place: Place) -> None:
    worker = Chat(backend.client(), place.worker_wecom_id, channel="wecom")
    worker.say("你好", intent="greet")
    worker.say("阿巴阿巴", intent=FALLBACK, confidence=0.1)
    assert worker.state.identity.is_worker and worker.outcomes == []
