"""Dedup keys (rows 1-3): MsgId for messages, sender + CreateTime + event (+ key) for events."""

from __future__ import annotations

import pytest

from platforms._dedup import MalformedMessage, message_key


def event(sender: str, created: str, name: str, key: str = "") -> dict[str, str]:
    return {"MsgType": "event", "FromUserName": sender, "CreateTime": created, "Event": name, "EventKey": key}


def test_row1_messages_are_keyed_by_msgid() -> None:
    fields = {"MsgType": "text", "FromUserName": "o_u", "CreateTime": "1", "MsgId": "245123"}
    assert message_key("wx:app", fields) == "wx:app:245123"


def test_row2_events_have_no_msgid_and_are_keyed_by_sender_time_event_and_key() -> None:
    click_repair = event("o_u", "1714037059", "CLICK", "MENU_REPAIR")
    assert message_key("wx:app", click_repair) == "wx:app:o_u:1714037059:click:MENU_REPAIR"
    # the same user's other events are not merged into one (wechatpy's msg.id is 0 for all)
    keys = {
        message_key("wx:app", e)
        for e in (
            click_repair,
            event("o_u", "1714037059", "CLICK", "MENU_BILL"),
            event("o_u", "1714037060", "CLICK", "MENU_REPAIR"),
            event("o_u", "1714037059", "subscribe"),
            event("o_other", "1714037059", "CLICK", "MENU_REPAIR"),
        )
    }
    assert len(keys) == 5


def test_row3_two_messages_in_the_same_second_get_two_keys() -> None:
    first = {"MsgType": "text", "FromUserName": "o_u", "CreateTime": "1714037059", "MsgId": "1001"}
    second = first | {"MsgId": "1002"}
    assert message_key("wx:app", first) != message_key("wx:app", second)


@pytest.mark.parametrize(
    "fields",
    [
        {"FromUserName": "o_u", "CreateTime": "1", "MsgId": "1"},
        {"MsgType": "text", "CreateTime": "1", "MsgId": "1"},
        {"MsgType": "text", "FromUserName": "o_u", "CreateTime": "x", "MsgId": "1"},
        {"MsgType": "text", "FromUserName": "o_u", "CreateTime": "1", "MsgId": "abc"},
        {"MsgType": "event", "FromUserName": "o_u", "CreateTime": "1"},
    ],
)
def test_row12_fields_every_message_needs(fields: dict[str, str]) -> None:
    with pytest.raises(MalformedMessage):
        message_key("wx:app", fields)
