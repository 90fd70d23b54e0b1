"""The action server's one action: a Rasa tracker in, the conversation's turn out (actions/converse.py).

What the adapter must carry across: the message as the NLU read it (without its fallback pseudo
intent), the channel and sender, the remembered state between turns, and every response by name
with its values (all of which the domain must define); the message's key as the request id of its
calls to the backend, and the messages the NLU did not understand counted; a person taking the
conversation over gets it from its full transcript, not only the turns the tracker still holds."""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any

import pytest
import redis
from prometheus_client import REGISTRY
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa_sdk.executor import CollectingDispatcher

from actions.converse import ActionConverse, history, history_of, message_of
from bot_runtime import transcript
from bot_runtime.tracker_store import CompactingTrackerStore
from dialogue import handoff
from scripts.stack import ROOT
from tests.actions.conftest import Backend, World, ent, make_tracker, responses


def test_the_message_is_carried_as_the_nlu_read_it() -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.3},
        {"name": "report_outage", "confidence": 0.28},
        {"name": "query_outage", "confidence": 0.2},
    ]
    tracker = make_tracker(
        "13800138001",
        "停电了 3100000001",
        "nlu_fallback",
        [ent("account_no", "3100000001")],
        channel="sms",
        ranking=ranking,
        metadata={"message_key": "k1", "emoji_only": False},
    )
    message = message_of(tracker)
    assert (message.intent, message.channel, message.sender_id) == ("nlu_fallback", "sms", "13800138001")
    assert message.ranking == (("report_outage", 0.28), ("query_outage", 0.2))
    assert message.entities == {"account_no": "3100000001"} and message.key == "k1"


def test_the_history_for_a_person_is_the_turns_before_this_one() -> None:
    earlier = [
        {"event": "user", "text": "停电了", "timestamp": 1.0},
        {"event": "bot", "text": "请核对", "timestamp": 2.0},
        {"event": "slot", "name": "x", "value": 1},
    ]
    lines = history_of(make_tracker("o1", "转人工", "request_human", history=earlier))
    assert [(line["from"], line["text"]) for line in lines] == [("customer", "停电了"), ("bot", "请核对")]


async def a_long_conversation(sender: str, redis_url: str, turns: int) -> list[dict[str, Any]]:
    """`turns` turns saved by the rasa server's store: the events the tracker still holds after them."""
    store = CompactingTrackerStore(Domain.load(str(ROOT / "bot" / "domain")), host=redis_url, keep_turns=3)
    for number in range(turns):
        tracker = await store.get_or_create_tracker(sender)
        for event in (UserUttered(f"第{number}句"), ActionExecuted("action_converse"), BotUttered(f"第{number}答"),
                      ActionExecuted("action_listen")):  # fmt: skip
            tracker.update(event)
        await store.save(tracker)
    kept = await store.retrieve(sender)
    return [event.as_dict() for event in kept.events]


async def test_the_history_for_a_person_comes_from_the_full_transcript(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 turns (the tracker keeps the last few): a person gets all 60 lines, from the first; over
    200 lines, the hand-off carries the last 200 (the backend's cap), this message the last of them;
    Redis unreachable, the turns the tracker holds."""
    sender = f"o_handoff_{secrets.token_hex(6)}"
    monkeypatch.setenv("REDIS_URL", redis_url)
    try:
        kept = await a_long_conversation(sender, redis_url, 30)
        tracker = make_tracker(sender, "转人工", "request_human", history=kept)
        assert history_of(tracker)[0]["text"] != "第0句"  # the tracker alone: only the last turns
        lines = await history(tracker)
        assert [line["text"] for line in lines[:3]] == ["第0句", "第0答", "第1句"] and len(lines) == 60
        assert [line["from"] for line in lines[:2]] == ["customer", "bot"] and lines[-1]["text"] == "第29答"

        await a_long_conversation(sender, redis_url, 80)  # 110 turns in all: 220 lines
        lines = await history(tracker)
        assert len(lines) == handoff.TRANSCRIPT_LINES and lines[0]["text"] == "第10句"
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/7")
        assert await history(tracker) == history_of(tracker)
    finally:
        redis.Redis.from_url(redis_url).delete(f"pd:tracker:{sender}", transcript.key(sender))


async def test_a_hand_off_of_a_long_conversation_starts_at_its_first_line(
    world: World, actions_env: Backend, domain: dict[str, Any], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "转人工" after 30 turns: the agent's console reads the conversation from its first line to the
    request, although the tracker holds only the last turns."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    try:
        kept = await a_long_conversation(world.openid, redis_url, 30)
        await run(make_tracker(world.openid, "转人工", "request_human", history=kept), domain)
        [item] = actions_env.admin("GET", f"/handoffs?sender_id={world.openid}&active=false")
        lines = actions_env.admin("GET", f"/handoffs/{item['id']}")["transcript"]
        assert [line["text"] for line in lines[:2]] == ["第0句", "第0答"]
        assert len(lines) == 61 and lines[-1]["text"] == "转人工"
    finally:
        redis.Redis.from_url(redis_url).delete(f"pd:tracker:{world.openid}", transcript.key(world.openid))


async def run(tracker: Any, domain: dict[str, Any]) -> tuple[CollectingDispatcher, dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionConverse().run(dispatcher, tracker, domain)
    [slot] = [e for e in events if e["event"] == "slot" and e["name"] == "conversation"]
    return dispatcher, slot["value"]


async def test_a_report_over_two_turns_keeps_its_state_in_the_slot(
    world: World, actions_env: Backend, domain: dict[str, Any]
) -> None:
    dispatcher, state = await run(make_tracker(world.openid, "家里停电了", "report_outage"), domain)
    assert responses(dispatcher) == ["utter_report_confirm"]
    assert dispatcher.messages[0]["place"].startswith("阳光小区")
    assert state["tasks"][0]["name"] == "repair" and state["identity"]["accounts"][0]["account_no"] == world.account_no
    dispatcher, state = await run(make_tracker(world.openid, "1", "affirm", conversation=state), domain)
    assert responses(dispatcher)[0] == "utter_report_ticket_created"
    assert state["tasks"] == []
    assert len(actions_env.admin("GET", f"/tickets?account_no={world.account_no}&open=true")) == 1


async def test_every_response_it_sends_is_in_the_domain(world: World, domain: dict[str, Any]) -> None:
    known = set(domain["responses"])
    state: dict[str, Any] | None = None
    sent: list[str] = []
    for text, intent in (
        ("你好", "greet"),
        ("停电了", "report_outage"),
        ("怎么交电费", "payment_methods"),
        ("算了", "deny"),
        ("力调电费是什么", "explain_bill"),
        ("谢谢", "thank"),
    ):
        dispatcher, state = await run(make_tracker(world.openid, text, intent, conversation=state), domain)
        sent += responses(dispatcher)
    assert sent and set(sent) <= known, set(sent) - known


async def test_its_calls_to_the_backend_carry_the_message_key_as_the_request_id(
    world: World, actions_env: Backend, domain: dict[str, Any]
) -> None:
    """The backend stores the key with the pushes the request causes (`trace_id`): a WeChat message's
    key, 38 characters, names the ticket's pushes."""
    key = f"wx:wx{secrets.token_hex(8)}:{secrets.randbelow(9 * 10**15) + 10**15}"
    _, state = await run(make_tracker(world.openid, "家里停电了", "report_outage"), domain)
    dispatcher, _ = await run(make_tracker(world.openid, "1", "affirm", conversation=state, message_id=key), domain)
    assert responses(dispatcher)[0] == "utter_report_ticket_created"
    with sqlite3.connect(actions_env.env["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        traced = db.execute("SELECT dedup_key FROM outbox_message WHERE trace_id = ?", (key,)).fetchall()
    assert traced and all(dedup_key.startswith("ticket:QX") for (dedup_key,) in traced), traced


async def test_a_message_the_nlu_did_not_understand_is_counted(world: World, domain: dict[str, Any]) -> None:
    def fallbacks() -> float:
        return REGISTRY.get_sample_value("powerdesk_nlu_fallbacks_total", {"channel": "sms"}) or 0.0

    before = fallbacks()
    await run(make_tracker(world.openid, "呜啦啦", "report_outage", channel="sms"), domain)
    assert fallbacks() == before
    await run(make_tracker(world.openid, "呜啦啦", "nlu_fallback", channel="sms"), domain)
    assert fallbacks() == before + 1
