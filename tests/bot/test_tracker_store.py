"""The compacting tracker store keeps what the dialogue policies see and drops the rest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.tracker_store import CompactingTrackerStore, ConversationFile, compacted

ROOT = Path(__file__).resolve().parents[2]
KEEP = 4


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "bot" / "domain"))


def turn(intent: str, *bot: str) -> list:
    return [UserUttered(intent, {"name": intent}), *(ActionExecuted(a) for a in bot), ActionExecuted("action_listen")]


def long_conversation(domain: Domain) -> DialogueStateTracker:
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
    tracker = DialogueStateTracker.from_events("o_test", events, slots=domain.slots)
    return tracker


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


async def test_the_store_keeps_a_long_conversation_bounded(domain: Domain, tmp_path: Path) -> None:
    store = CompactingTrackerStore(domain, keep_turns=KEEP, path=str(tmp_path / "conversations.sqlite3"))
    await store.get_or_create_tracker("o_test")
    kept = []
    for _ in range(25):
        tracker = await store.retrieve("o_test")
        for event in turn("query_bill", "action_query_bill"):
            tracker.update(event)
        await store.save(tracker)
        stored = await store.retrieve("o_test")
        kept.append(sum(isinstance(e, UserUttered) for e in stored.events))
    assert kept[: 2 * KEEP] == list(range(1, 2 * KEEP + 1))  # short conversations are left alone
    assert kept[2 * KEEP] == KEEP and max(kept) == 2 * KEEP  # then folded back to the last KEEP turns


async def test_a_conversation_survives_a_restart_of_the_server(domain: Domain, tmp_path: Path) -> None:
    """A customer in the middle of a repair report when the rasa server restarts: the new process's
    store returns the conversation with its form and slots, so the next answer continues the form."""
    path = str(tmp_path / "conversations.sqlite3")
    before = CompactingTrackerStore(domain, keep_turns=KEEP, path=path)
    await before.save(long_conversation(domain))
    after = CompactingTrackerStore(domain, keep_turns=KEEP, path=path)
    restored = await after.retrieve("o_test")
    assert restored is not None
    assert restored.active_loop_name == "repair_form"
    assert restored.current_slot_values() == (await before.retrieve("o_test")).current_slot_values()
    assert restored.events == (await before.retrieve("o_test")).events
    assert list(await after.keys()) == ["o_test"]
    assert await after.retrieve("o_other") is None


async def test_a_conversation_goes_on_when_its_file_cannot_be_written(
    domain: Domain, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """RELIABILITY row 47: a conversations file that refuses writes (here: a read-only connection,
    as on a full disk) raises an alert, and the conversation still completes from memory."""
    store = CompactingTrackerStore(domain, keep_turns=KEEP, path=str(tmp_path / "conversations.sqlite3"))
    store.store._db.execute("PRAGMA query_only = ON")  # every write now fails as on a full disk
    await store.save(long_conversation(domain))
    kept = await store.retrieve("o_test")
    assert kept is not None and kept.active_loop_name == "repair_form"
    assert "ALERT conversations file unwritable" in caplog.text


def test_conversations_are_kept_for_the_message_retention_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """POWERDESK_MESSAGE_RETENTION_HOURS: a conversation not saved for longer is gone when the file
    is opened again, with the customer's words it held; a recent one stays."""
    monkeypatch.setenv("POWERDESK_MESSAGE_RETENTION_HOURS", "1")
    conversations = ConversationFile(tmp_path / "c.sqlite3")
    conversations["o_old"] = '{"events": "我家停电了"}'
    conversations["o_new"] = '{"events": "电费多少"}'
    with sqlite3.connect(tmp_path / "c.sqlite3") as db:
        db.execute("UPDATE conversation SET saved_at = saved_at - 7200 WHERE sender = 'o_old'")
    reopened = ConversationFile(tmp_path / "c.sqlite3")
    assert list(reopened) == ["o_new"]
