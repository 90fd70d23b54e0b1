"""The WeCom channel for grid workers inside the running rasa server (RELIABILITY row 22, 31)."""

from __future__ import annotations

import time

import httpx
from redis import Redis

from platforms.wecom.limits import MemberRateLimiter
from simulator.messages import UserAction, wecom_xml
from tests.bot_runtime.channel_stack import ChannelStack


def worker_xml(live: ChannelStack, user: str, action: UserAction) -> str:
    return wecom_xml(action, user, live.settings.wecom_corp_id, live.settings.wecom_agent_id)


def post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(url, content=body, timeout=10, headers={"Content-Type": "text/xml"})


def test_url_check_returns_the_decrypted_echostr(live: ChannelStack) -> None:
    answer = httpx.get(live.wecom_peer.echo_url("8873468234729384"), timeout=10)
    assert (answer.status_code, answer.text) == (200, "8873468234729384")


def test_worker_text_gets_a_wecom_reply(live: ChannelStack) -> None:
    answer = httpx.post(f"{live.simulator_url}/sim/wecom/users/wg_zhang_01/send", params={"wait": "true"},
                        json={"type": "text", "content": "接单"}, timeout=30)  # fmt: skip
    assert answer.json()["answer"] == "success"
    sent = live.wait_for("message_send", "wg_zhang_01")
    assert sent[0]["content"] == "已确认接单。" and sent[0]["status"] == "delivered"
    assert live.user_events("wg_zhang_01")[0]["input_channel"] == "wecom"


def test_row22_repeated_task_card_click_is_one_turn_with_the_ticket(live: ChannelStack) -> None:
    action = UserAction(type="event", event="taskcard_click", event_key="accept_task:QX202611220001")
    xml = worker_xml(live, "wg_li_02", action)
    for _ in range(3):
        url, body = live.wecom_peer.signed_request(xml)
        assert post(url, body).text == "success"
    live.wait_for("message_send", "wg_li_02")
    time.sleep(1.0)
    events = live.user_events("wg_li_02")
    assert len(events) == 1 and len(live.records("message_send", "wg_li_02")) == 1
    assert events[0]["parse_data"]["intent"]["name"] == "accept_task"
    assert [(e["entity"], e["value"]) for e in events[0]["parse_data"]["entities"]] == [("ticket_no", "QX202611220001")]


def test_row22_forged_or_other_corp_callbacks_are_refused(live: ChannelStack) -> None:
    xml = worker_xml(live, "wg_forger", UserAction(type="text", content="接单"))
    url, body = live.wecom_peer.signed_request(xml)
    assert post(url.replace("msg_signature=", "msg_signature=f"), body).status_code == 403
    time.sleep(0.3)
    assert live.user_events("wg_forger") == []


def test_row31_a_rate_limited_worker_reply_goes_to_the_push_pipeline(live: ChannelStack, redis_url: str) -> None:
    limiter = MemberRateLimiter(Redis.from_url(redis_url), live.settings.wecom_corp_id, live.settings.wecom_agent_id)
    while limiter.reserve("wg_busy_03") == 0:  # 30 messages this minute already
        pass
    url, body = live.wecom_peer.signed_request(worker_xml(live, "wg_busy_03", UserAction(type="text", content="接单")))
    assert post(url, body).text == "success"
    deadline = time.monotonic() + 15
    while not live.pushes_for({"wecom_user_id": "wg_busy_03"}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live.pushes_for({"wecom_user_id": "wg_busy_03"})[0]["params"]["text"] == "已确认接单。"
    assert live.records("message_send", "wg_busy_03") == []
