"""Which messages of a customer handed to a person go straight to that person (the channels'
relay, bot_runtime/handoff_relay.py) and which the assistant must read itself, and when the
person has the conversation at all. The relay itself is tested through the WeChat channel in
tests/e2e/test_handoff_chat.py."""

from __future__ import annotations

import pytest

from dialogue.handoff import passes_straight, relayed_to
from dialogue.message import Message
from dialogue.state import State


@pytest.mark.parametrize(
    "text",
    ["人呢", "我家停电两天了，报修了一直没人来", "3100000001", "1", "转人工", "再见", "您好在吗？？"],
)
def test_what_the_customer_writes_to_the_person_goes_straight_to_them(text: str) -> None:
    assert passes_straight(Message(text, channel="wechat", sender_id="o_1"))


@pytest.mark.parametrize(
    "text",
    [
        "不用了",  # cancels the wait: the assistant answers again
        "算了不要了",
        "取消",
        "重新开始",  # a restart
        "继续报修",  # back to the report set aside
        "楼下电线掉地上了还在冒火花",  # danger is taken at once, whoever has the conversation
        "配电箱冒烟了",
        "有人触电了快来",
        "",
    ],
)
def test_what_the_assistant_must_read_takes_its_turn(text: str) -> None:
    assert not passes_straight(Message(text, channel="wechat", sender_id="o_1"))


def test_emoji_alone_take_the_assistants_turn() -> None:
    assert not passes_straight(Message("👍", metadata={"emoji_only": True}))


def test_the_person_has_the_conversation_only_while_the_hand_off_is_the_task_on_the_table() -> None:
    state = State()
    assert relayed_to(state) is None
    state.start("handoff", "waiting", handoff_id=42)
    assert relayed_to(state) == 42
    state.start("hazard", "place", description="电线掉了")  # the assistant asks where: its answer is the assistant's
    assert relayed_to(state) is None
    state.finish()  # the hazard reported, the wait goes on
    assert relayed_to(state) == 42
    state.finish()
    assert relayed_to(state) is None
