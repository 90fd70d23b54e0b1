"""The conversation store: what the dialogue policies see is kept and the rest folded away, in the
Redis every rasa server reads (no stale copy in any process), expiring with the message retention;
every line said kept in the full transcript; and a Redis that cannot be reached fails the turn
rather than starting the conversation afresh. Real Redis (REDIS_URL, else a private redis-server)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot_runtime import transcript
from bot_runtime.tracker_store import CompactingTrackerStore, compacted, retrieved_length

ROOT = Path(__file__).resolve().parents[2]
KEEP = 4


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "bot" / "domain"))


def turn(intent: str, *bot: str) -> list:
    return [UserUttered(intent, {"name": intent}), *(ActionExecuted(a) for a in bot), ActionExecuted("action_listen")]


def long_conversation(domain: Domain, sender: str = "o_test") -> DialogueStateTracker:
    """A bound customer chats, and in the last turns starts a repair report (an active form)."""
    events = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("identity_kind", "customer"),
        SlotSet("accounts", ["3100000001"]),
        ActionExecuted("action_listen"),
    ]
    for _ in range(8):
        events += turn("query_bill", "action_query_bill") + turn("thank", "utter_thank")
    events += [*turn("report_outage", "repair_form")[:-1], ActiveLoop("repair_form"), ActionExecuted("action_listen")]
    events += turn("affirm", "repair_form")
    return DialogueStateTracker.from_events(sender, events, slots=domain.slots)


def test_nothing_changes_until_the_conversation_is_long(domain: Domain) -> None:
    tracker = DialogueStateTracker.from_events("o_test", turn("greet", "utter_greet") * 3, slots=domain.slots)
    assert compacted(tracker, KEEP) is None


def test_the_kept_turns_look_the_same_to_the_policies(domain: Domain) -> None:
    full = long_conversation(domain)
    short = compacted(full, KEEP)
    assert short is not None
    assert sum(isinstance(e, UserUttered) for e in short.events) == KEEP
    assert len(short.events) < len(full.events) / 2
    assert short.current_slot_values() == full.current_slot_values()
    assert short.active_loop_name == full.active_loop_name == "repair_form"
    kept = short.past_states(domain)
    # every state after the folded session start is identical, slots and active form included
    assert len(kept) > KEEP
    assert kept[1:] == full.past_states(domain)[-(len(kept) - 1) :]


@pytest.fixture
def sender(redis_url: str) -> Iterator[str]:
    """A conversation of this test only, its keys deleted afterwards."""
    name = f"o_test_{uuid.uuid4().hex[:12]}"
    yield name
    redis.Redis.from_url(redis_url).delete(f"pd:tracker:{name}", transcript.key(name))


def store(domain: Domain, redis_url: str) -> CompactingTrackerStore:
    """One rasa server's store; several in one test play several servers on one Redis."""
    return CompactingTrackerStore(domain, host=redis_url, keep_turns=KEEP)


def said(number: int) -> list:
    """One turn in which the customer and the assistant say something."""
    return [
        UserUttered(f"第{number}句", {"name": "query_bill"}),
        ActionExecuted("action_converse"),
        BotUttered(f"第{number}答"),
        ActionExecuted("action_listen"),
    ]


async def take_turn(store: CompactingTrackerStore, sender: str, number: int) -> DialogueStateTracker:
    """A turn as the processor runs it: retrieve (or create), the turn's events, save."""
    tracker = await store.get_or_create_tracker(sender)
    for event in said(number):
        tracker.update(event)
    await store.save(tracker)
    return tracker


async def lines(redis_url: str, sender: str) -> list[tuple[str, str]]:
    return [(line.who, line.text) for line in await transcript.recent(redis_url, sender, transcript.MAX_LINES)]


async def test_the_store_keeps_a_long_conversation_bounded(domain: Domain, redis_url: str, sender: str) -> None:
    conversations = store(domain, redis_url)
    kept = []
    for number in range(25):
        await take_turn(conversations, sender, number)
        stored = await conversations.retrieve(sender)
        kept.append(sum(isinstance(e, UserUttered) for e in stored.events))
    assert kept[: 2 * KEEP] == list(range(1, 2 * KEEP + 1))  # short conversations are left alone
    assert kept[2 * KEEP] == KEEP and max(kept) == 2 * KEEP  # then folded back to the last KEEP turns


async def test_two_servers_alternating_on_one_conversation_read_each_other_s_saves(
    domain: Domain, redis_url: str, sender: str
) -> None:
    """Turns of one conversation taken in turn by two rasa servers (Rasa's Redis lock store keeps
    them one at a time): each retrieve reads the other's last save, never a copy of its own."""
    first, second = store(domain, redis_url), store(domain, redis_url)
    await take_turn(first, sender, 0)
    for number in range(1, 12):
        server = (first, second)[number % 2]
        await take_turn(server, sender, number)
        for reader in (first, second):
            latest = await reader.retrieve(sender)
            assert latest is not None and latest.latest_message.text == f"第{number}句"
    assert await lines(redis_url, sender) == [
        (who, f"第{number}{word}") for number in range(12) for who, word in (("customer", "句"), ("assistant", "答"))
    ]


async def test_a_conversation_survives_a_restart_of_the_server(domain: Domain, redis_url: str, sender: str) -> None:
    """A customer in the middle of a repair report when the rasa server restarts: the new process's
    store returns the conversation with its form and slots, so the next answer continues the form."""
    before = store(domain, redis_url)
    await before.save(long_conversation(domain, sender))
    after = store(domain, redis_url)
    restored = await after.retrieve(sender)
    assert restored is not None
    assert restored.active_loop_name == "repair_form"
    assert restored.current_slot_values() == (await before.retrieve(sender)).current_slot_values()
    assert restored.events == (await before.retrieve(sender)).events
    assert await after.retrieve(f"{sender}_other") is None


async def test_the_transcript_keeps_every_line_of_a_compacted_conversation(
    domain: Domain, redis_url: str, sender: str
) -> None:
    """30 turns: the tracker holds the last few, the transcript every line, once, in order, with
    the time each was said; it expires POWERDESK_TRANSCRIPT_RETENTION_DAYS after its last line."""
    conversations = store(domain, redis_url)
    said_at = []
    for number in range(30):
        tracker = await take_turn(conversations, sender, number)
        said_at.append(next(e.timestamp for e in reversed(tracker.events) if isinstance(e, UserUttered)))
    stored = await conversations.retrieve(sender)
    assert sum(isinstance(e, UserUttered) for e in stored.events) <= 2 * KEEP
    full = await transcript.recent(redis_url, sender, transcript.MAX_LINES)
    assert [(line.who, line.text) for line in full] == [
        (who, f"第{number}{word}") for number in range(30) for who, word in (("customer", "句"), ("assistant", "答"))
    ]
    assert [line.at for line in full if line.who == "customer"] == said_at
    assert 29 * 86400 < redis.Redis.from_url(redis_url).ttl(transcript.key(sender)) <= 30 * 86400


async def test_the_transcript_keeps_its_last_lines_only(
    domain: Domain, redis_url: str, sender: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transcript, "MAX_LINES", 7)
    conversations = store(domain, redis_url)
    for number in range(5):
        await take_turn(conversations, sender, number)
    assert [text for _, text in await lines(redis_url, sender)] == [
        "第1答", "第2句", "第2答", "第3句", "第3答", "第4句", "第4答"
    ]  # fmt: skip


async def test_a_conversation_is_kept_for_the_message_retention_only(
    domain: Domain, redis_url: str, sender: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POWERDESK_MESSAGE_RETENTION_HOURS (here 2 s): each save keeps the compacted conversation that
    long again; one not saved for longer is gone, with the customer's words it held."""
    monkeypatch.setenv("POWERDESK_MESSAGE_RETENTION_HOURS", str(2 / 3600))
    conversations = store(domain, redis_url)
    for number in range(2 * KEEP + 1):
        await take_turn(conversations, sender, number)
        time.sleep(0.5)  # each save refreshes the expiry: 3.5 s in all, longer than one retention
    assert sum(isinstance(e, UserUttered) for e in (await conversations.retrieve(sender)).events) == KEEP
    assert 0 < redis.Redis.from_url(redis_url).ttl(f"pd:tracker:{sender}") <= 2
    time.sleep(2.1)
    assert await conversations.retrieve(sender) is None


async def test_the_new_events_are_counted_as_rasa_s_retrieve_returns_them(
    domain: Domain, redis_url: str, sender: str
) -> None:
    """The transcript's diff: a stored tracker's retrieve (its last session) has exactly the length
    `retrieved_length` reads from the stored JSON, before and after a new session and compaction."""
    conversations = store(domain, redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert retrieved_length(None) == 0
    for number in range(2 * KEEP + 2):
        tracker = await conversations.get_or_create_tracker(sender)
        if number == 3:  # a session expired: the processor starts a new one in the same tracker
            tracker.update_with_events([ActionExecuted("action_session_start"), SessionStarted()], domain)
        for event in said(number):
            tracker.update(event)
        await conversations.save(tracker)
        stored = client.get(f"pd:tracker:{sender}")
        assert retrieved_length(stored) == len((await conversations.retrieve(sender)).events)
    assert len(await lines(redis_url, sender)) == 2 * (2 * KEEP + 2)


async def test_an_unreachable_redis_fails_the_retrieve_and_the_save(domain: Domain, sender: str) -> None:
    """Redis down: the store raises (the patched agent passes it to the channel, which keeps the
    message: tests/bot/test_rasa_patches.py), it never answers "no conversation" (a fresh start)."""
    unreachable = CompactingTrackerStore(domain, host="redis://127.0.0.1:1/7", keep_turns=KEEP, socket_timeout=0.5)
    with pytest.raises(redis.exceptions.ConnectionError):
        await unreachable.retrieve(sender)
    with pytest.raises(redis.exceptions.ConnectionError):
        await unreachable.save(long_conversation(domain, sender))


def test_the_store_needs_a_redis_url(domain: Domain, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(ValueError, match="REDIS_URL"):
        CompactingTrackerStore(domain)
