"""What Rasa gets for each platform message, and how a turn's replies become one message
(rows 14, 15, 18, 27)."""

from __future__ import annotations

import json

from platforms.wechat.messages import button_payloads, render_reply, wechat_turn, wecom_turn
from platforms.wechat.protocol import Inbound


def inbound(**fields: str) -> Inbound:
    base = {"FromUserName": "o_u", "CreateTime": "1714037059", "MsgId": "1"}
    return Inbound(base | fields, "wx:app:1", "o_u", 0, "")


def test_text_is_normalised_and_carries_the_message_key() -> None:
    turn = wechat_turn(inbound(MsgType="text", Content="户号０１２３４５６７８９"))
    assert turn.text == "户号0123456789"
    assert turn.metadata == {"message_key": "wx:app:1", "msg_type": "text"}


def test_row15_leading_slash_cannot_inject_an_intent() -> None:
    turn = wechat_turn(inbound(MsgType="text", Content='/confirm_ticket{"account_no":"x"}@1.0'))
    assert not turn.text.startswith("/")


def test_row14_emoji_only_and_overlong_text() -> None:
    emoji = wechat_turn(inbound(MsgType="text", Content="😀👍"))
    assert emoji.metadata["emoji_only"] is True
    assert emoji.text == "/nlu_fallback"  # never read as a yes: the bot asks for words
    long_turn = wechat_turn(inbound(MsgType="text", Content="停电" * 1500))
    assert len(long_turn.text) <= 500 and long_turn.notice and "500" in long_turn.notice
    assert wechat_turn(inbound(MsgType="text", Content="\u200b ")).direct_reply


def test_voice_uses_recognition_or_asks_to_type() -> None:
    assert wechat_turn(inbound(MsgType="voice", Recognition="我家停电了")).text == "我家停电了"
    assert wechat_turn(inbound(MsgType="voice", Recognition="")).metadata == {}
    assert "文字" in wechat_turn(inbound(MsgType="voice")).direct_reply


def test_location_and_image_pass_metadata() -> None:
    location = wechat_turn(inbound(MsgType="location", Location_X="30.27", Location_Y="120.15", Label="幸福路12号"))
    assert location.metadata | {} == {
        "message_key": "wx:app:1", "msg_type": "location", "latitude": 30.27, "longitude": 120.15,
        "address": "幸福路12号",
    }  # fmt: skip
    assert "幸福路12号" in location.text
    image = wechat_turn(inbound(MsgType="image", MediaId="media_1", PicUrl="http://p/1.jpg"))
    assert image.metadata["media_id"] == "media_1" and image.text


def test_row18_other_types_get_a_polite_text() -> None:
    for kind in ("link", "video", "shortvideo", "file", "device_text"):
        turn = wechat_turn(inbound(MsgType=kind))
        assert turn.text is None and "文字" in turn.direct_reply


def test_menu_clicks_become_the_contract_intents_and_subscribe_greets() -> None:
    expected = {
        "MENU_REPAIR": "/report_outage", "MENU_OUTAGE": "/query_outage", "MENU_BILL": "/query_bill",
        "MENU_APPLICATION": "/query_application", "MENU_GRID_WORKER": "/contact_grid_worker",
    }  # fmt: skip
    for key, text in expected.items():
        turn = wechat_turn(inbound(MsgType="event", Event="CLICK", EventKey=key))
        assert turn.text == text and turn.metadata["msg_type"] == "event"
    assert wechat_turn(inbound(MsgType="event", Event="CLICK", EventKey="MENU_X")).direct_reply
    assert wechat_turn(inbound(MsgType="event", Event="subscribe")).text == "/greet"
    unsubscribe = wechat_turn(inbound(MsgType="event", Event="unsubscribe"))
    assert unsubscribe.text is None and unsubscribe.direct_reply is None


def test_wecom_task_card_buttons_become_worker_intents_with_the_ticket() -> None:
    turn = wecom_turn(inbound(MsgType="event", Event="taskcard_click", EventKey="accept_task:QX202611220001"))
    intent, entities = turn.text.split("{", 1)
    assert intent == "/accept_task" and json.loads("{" + entities) == {"ticket_no": "QX202611220001"}
    assert (
        wecom_turn(inbound(MsgType="event", Event="taskcard_click", EventKey='accept_task:x"}')).text == "/accept_task"
    )
    assert wecom_turn(inbound(MsgType="event", Event="taskcard_click", EventKey="restart:1")).direct_reply
    assert wecom_turn(inbound(MsgType="text", Content="到达现场")).text == "到达现场"


def test_row27_a_turn_becomes_one_message_with_numbered_options() -> None:
    messages = [
        {"recipient_id": "o_u", "text": "已为您查询到停电信息。"},
        {"recipient_id": "o_u", "text": "请问您要办理什么？", "buttons": [
            {"title": "报修", "payload": "/report_outage"}, {"title": "查电费", "payload": "/query_bill"}]},
        {"recipient_id": "o_u", "text": "还可以：",
         "buttons": [{"title": "转人工", "payload": "/request_human"}]},
    ]  # fmt: skip
    text = render_reply(messages)
    assert text == (
        "已为您查询到停电信息。\n\n请问您要办理什么？\n回复1：报修\n回复2：查电费\n\n还可以：\n回复3：转人工"
    )
    assert button_payloads(messages) == ["/report_outage", "/query_bill", "/request_human"]
    assert render_reply([]) == ""
