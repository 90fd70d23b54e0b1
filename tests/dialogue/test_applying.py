"""Asking how to get connected (业扩 consultation, dialogue/applications.py `how_to_apply`) and "how
long", which the NLU reads as a connection question whatever was just talked about
(dialogue/meaning.py `HOW_LONG`)."""

from __future__ import annotations

from tests.dialogue.conftest import Backend, Chat, Place


def stranger(backend: Backend, name: str) -> Chat:
    return Chat(backend.client(), f"o_never_bound_{name}")


def test_how_long_after_the_menu_is_answered_and_the_menu_stays(backend: Backend, place: Place) -> None:
    """ "需要多久" (read as apply_connection) used to start the menu again: now the time limits of
    every kind, the menu reminded in one line, and the number still answers it."""
    chat = stranger(backend, "apply_how_long")
    assert chat.said("我想新装一个电表怎么办理", "apply_connection") == ["utter_apply_connection"]
    assert chat.said("需要多久", "apply_connection") == ["utter_apply_durations", "utter_apply_remind"]
    assert chat.said("2", "inform") == ["utter_apply_business"]
    assert chat.state.task is None


def test_a_new_connection_for_a_small_business_in_plain_words(backend: Backend, place: Place) -> None:
    """ "我想开个新户 做小生意", which the NLU does not place: the business materials and time limits."""
    chat = stranger(backend, "apply_small_business")
    assert chat.said("我想开个新户 做小生意", "nlu_fallback") == ["utter_apply_business"]


def test_how_long_asked_of_a_kind_gives_that_kind(backend: Backend, place: Place) -> None:
    """A control: the kind's own answer carries its time limit, as before."""
    chat = stranger(backend, "apply_kind_long")
    assert chat.said("居民新装要几天", "apply_connection") == ["utter_apply_residential"]


def test_how_long_after_a_report_is_where_the_repair_stands_not_a_connection(chat: Chat) -> None:
    chat.say("我家停电了", "report_outage")
    chat.say("1", "affirm")
    replies = chat.said("需要多久", "apply_connection")
    assert replies and not any(name.startswith("utter_apply") for name in replies)
    assert replies == chat.said("报修进度", "query_repair_progress")
