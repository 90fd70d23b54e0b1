"""The WeChat channel inside a running rasa server, driven like WeChat drives it (RELIABILITY
rows 1-21, 26-27): messages are built and signed by the simulator's peer (wechatpy crypto)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from redis import Redis

from platforms.wechat.client import WeChatClient
from scripts.stack import ROOT
from simulator.messages import UserAction, wechat_xml
from tests.bot_runtime.channel_stack import ACTIONS_TOKEN, REPLAY_USER, ChannelStack


def user_says(live: ChannelStack, openid: str, text: str) -> dict:
    answer = httpx.post(f"{live.simulator_url}/sim/wechat/users/{openid}/send", params={"wait": "true"},
                        json={"type": "text", "content": text}, timeout=30)  # fmt: skip
    answer.raise_for_status()
    return answer.json()


def post(live: ChannelStack, url: str, body: bytes) -> httpx.Response:
    return httpx.post(url, content=body, timeout=10, headers={"Content-Type": "text/xml"})


def webhook(live: ChannelStack) -> str:
    return f"{live.rasa_url}/webhooks/wechat/webhook"


def test_a_turn_with_two_utterances_is_one_customer_service_message(live: ChannelStack) -> None:
    delivery = user_says(live, "o_greet_user_01", "你好")
    assert delivery == {"status": 200, "attempts": 1, "answer": "success"}
    sent = live.wait_for("custom_send", "o_greet_user_01")
    time.sleep(0.5)
    assert len(live.records("custom_send", "o_greet_user_01")) == 1
    assert sent[0]["content"] == "您好，欢迎关注供电服务号。\n\n绑定户号后，报修和查询会更方便。回复“绑定”即可开始。"


def test_row1_the_same_message_three_times_is_one_turn_and_one_reply(live: ChannelStack) -> None:
    xml = wechat_xml(UserAction(type="text", content="停电了"), "o_retry_user_01", "gh")
    for _ in range(3):  # WeChat's retries: the same MsgId, fresh nonce and timestamp each time
        url, body = live.wechat_peer.signed_request(xml)
        started = time.monotonic()
        answer = post(live, url, body)
        assert answer.status_code == 200 and answer.text == "success"
        assert time.monotonic() - started < 3.0  # WeChat gives up at 5 s
    live.wait_for("custom_send", "o_retry_user_01")
    time.sleep(1.0)
    assert len(live.records("custom_send", "o_retry_user_01")) == 1
    assert len(live.user_events("o_retry_user_01")) == 1


def test_row2_the_same_event_three_times_is_answered_once(live: ChannelStack) -> None:
    action = UserAction(type="event", event="CLICK", event_key="MENU_GRID_WORKER")
    live.state.user_acted("o_click_user_01", by_message=False)
    xml = wechat_xml(action, "o_click_user_01", "gh")
    for _ in range(3):
        url, body = live.wechat_peer.signed_request(xml)
        assert post(live, url, body).text == "success"
    sent = live.wait_for("custom_send", "o_click_user_01")
    time.sleep(1.0)
    assert len(live.records("custom_send", "o_click_user_01")) == 1
    assert "网格员" in sent[0]["content"]
    assert live.user_events("o_click_user_01")[0]["text"] == "/contact_grid_worker"


def test_row3_two_messages_in_the_same_second_both_run_in_order(live: ChannelStack) -> None:
    live.state.user_acted("o_burst_user_01", by_message=True)
    for text in ("电费", "停电了"):
        xml = wechat_xml(UserAction(type="text", content=text), "o_burst_user_01", "gh")
        url, body = live.wechat_peer.signed_request(xml)
        assert post(live, url, body).text == "success"
    live.wait_for("custom_send", "o_burst_user_01", count=2)
    assert [e["text"] for e in live.user_events("o_burst_user_01")] == ["电费", "停电了"]


def test_metadata_reaches_rasa_with_the_message_key(live: ChannelStack) -> None:
    xml = wechat_xml(UserAction(type="location", latitude=30.27, longitude=120.15, label="幸福路12号"),
                     "o_location_user_01", "gh")  # fmt: skip
    url, body = live.wechat_peer.signed_request(xml)
    post(live, url, body)
    deadline = time.monotonic() + 10
    while not live.user_events("o_location_user_01") and time.monotonic() < deadline:
        time.sleep(0.1)
    event = live.user_events("o_location_user_01")[0]
    msg_id = xml.split("<MsgId>")[1].split("</MsgId>")[0]
    assert event["message_id"] == f"wx:{live.settings.wechat_app_id}:{msg_id}"
    assert event["metadata"]["message_key"] == event["message_id"]
    assert event["metadata"]["latitude"] == 30.27 and event["metadata"]["longitude"] == 120.15
    assert event["input_channel"] == "wechat"


def test_row4_forged_signature_is_403_and_not_processed(live: ChannelStack) -> None:
    xml = wechat_xml(UserAction(type="text", content="停电了"), "o_forged_user_01", "gh")
    url, body = live.wechat_peer.signed_request(xml)
    forged = url.replace("msg_signature=", "msg_signature=0")
    assert post(live, forged, body).status_code == 403
    no_signature = url.split("&msg_signature=")[0]
    assert post(live, no_signature, body).status_code == 403
    time.sleep(0.5)
    assert live.user_events("o_forged_user_01") == []


def test_row5_stale_timestamp_is_403(live: ChannelStack) -> None:
    xml = wechat_xml(UserAction(type="text", content="停电了"), "o_stale_user_01", "gh")
    url, body = live.wechat_peer.signed_request(xml, timestamp=str(int(time.time()) - 301))
    assert post(live, url, body).status_code == 403


def test_row6_a_replayed_request_is_acked_not_processed_again(live: ChannelStack) -> None:
    xml = wechat_xml(UserAction(type="text", content="电费"), "o_replayed_user_01", "gh")
    url, body = live.wechat_peer.signed_request(xml)
    live.state.user_acted("o_replayed_user_01", by_message=True)
    for _ in range(3):
        answer = post(live, url, body)
        assert (answer.status_code, answer.text) == (200, "success")
    live.wait_for("custom_send", "o_replayed_user_01")
    time.sleep(0.5)
    assert len(live.user_events("o_replayed_user_01")) == 1


def test_row7_plaintext_post_is_refused(live: ChannelStack) -> None:
    from simulator.peer import CallbackPeer

    plain = CallbackPeer(webhook(live), live.settings.wechat_token, "", live.settings.wechat_app_id)
    url, body = plain.signed_request(wechat_xml(UserAction(type="text", content="停电了"), "o_plain_01", "gh"))
    assert post(live, url, body).status_code == 403


def test_row8_undecryptable_message_is_400(live: ChannelStack) -> None:
    from simulator.peer import CallbackPeer
    from tests.support.keys import new_aes_key

    other_key = CallbackPeer(webhook(live), live.settings.wechat_token, new_aes_key(), live.settings.wechat_app_id)
    url, body = other_key.signed_request(wechat_xml(UserAction(type="text", content="停电了"), "o_key_01", "gh"))
    answer = post(live, url, body)
    assert answer.status_code == 400 and "Traceback" not in answer.text


def test_row10_oversized_body_is_413(live: ChannelStack) -> None:
    url, _ = live.wechat_peer.signed_request("<xml></xml>")
    assert post(live, url, b"<xml>" + b"a" * (1024 * 1024) + b"</xml>").status_code == 413


def test_row10_oversized_chunked_body_is_413(live: ChannelStack) -> None:
    url, _ = live.wechat_peer.signed_request("<xml></xml>")

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"a" * 8192

    answer = httpx.post(url, content=chunks(), timeout=10)
    assert answer.status_code == 413


def test_row11_entities_are_refused(live: ChannelStack) -> None:
    xxe = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>'
    url, body = live.wechat_peer.signed_request(xxe)
    answer = post(live, url, body)
    assert answer.text == "success"  # authentic, so acked and quarantined, never parsed
    assert "root:" not in answer.text


def test_row12_signed_but_malformed_is_acked_and_quarantined(live: ChannelStack) -> None:
    url, body = live.wechat_peer.signed_request("<xml><MsgType>text</MsgType><MsgType>x</MsgType></xml>")
    answer = post(live, url, body)
    assert (answer.status_code, answer.text) == (200, "success")
    quarantined = live.queue.quarantined("wechat")
    assert any("duplicate" in reason for reason, _ in quarantined)


def test_row13_control_characters_still_get_a_reply(live: ChannelStack) -> None:
    live.state.user_acted("o_control_user_01", by_message=True)
    xml = wechat_xml(UserAction(type="text", content="停电\x1d了\x01"), "o_control_user_01", "gh")
    url, body = live.wechat_peer.signed_request(xml)
    assert post(live, url, body).text == "success"
    assert "停电报修" in live.wait_for("custom_send", "o_control_user_01")[0]["content"]


def test_row15_a_leading_slash_is_literal_text(live: ChannelStack) -> None:
    user_says(live, "o_slash_user_01", '/report_outage{"ticket_no":"QX202611220001"}')
    deadline = time.monotonic() + 10
    while not live.user_events("o_slash_user_01") and time.monotonic() < deadline:
        time.sleep(0.1)
    event = live.user_events("o_slash_user_01")[0]
    assert event["parse_data"]["intent"].get("name") != "report_outage"
    assert event["parse_data"]["entities"] == []


def test_row18_voice_without_recognition_asks_to_type(live: ChannelStack) -> None:
    httpx.post(f"{live.simulator_url}/sim/wechat/users/o_voice_user_01/send", params={"wait": "true"},
               json={"type": "voice"}, timeout=30)  # fmt: skip
    assert "文字" in live.wait_for("custom_send", "o_voice_user_01")[0]["content"]


def test_numbered_option_answers_the_button(live: ChannelStack) -> None:
    user_says(live, "o_options_user_01", "有哪些服务")
    first = live.wait_for("custom_send", "o_options_user_01")[0]["content"]
    assert first == "请问您要办理哪项业务？\n回复1：报修\n回复2：查电费"
    user_says(live, "o_options_user_01", "1")
    assert "停电报修" in live.wait_for("custom_send", "o_options_user_01", count=2)[1]["content"]


def test_row19_a_slow_turn_survives_the_client_hanging_up(live: ChannelStack) -> None:
    live.recorded.action_delay = 3.0
    try:
        live.state.user_acted("o_slow_user_01", by_message=True)
        xml = wechat_xml(UserAction(type="text", content="查询进度"), "o_slow_user_01", "gh")
        url, body = live.wechat_peer.signed_request(xml)
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
            request = (
                f"POST {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            sock.sendall(request)
            assert b"success" in sock.recv(4096)
        sent = live.wait_for("custom_send", "o_slow_user_01", timeout=15)
        assert "处理中" in sent[0]["content"]
    finally:
        live.recorded.action_delay = 0.0


def test_row20_echo(live: ChannelStack) -> None:
    answer = httpx.get(live.wechat_peer.echo_url("5927782489442352469"), timeout=10)
    assert (answer.status_code, answer.text) == (200, "5927782489442352469")
    assert answer.headers["content-type"].startswith("text/plain")
    forged = httpx.get(live.wechat_peer.echo_url("5927782489442352469").replace("signature=", "signature=1"))
    assert forged.status_code == 403
    assert httpx.get(live.wechat_peer.echo_url("<script>alert(1)</script>"), timeout=10).status_code == 403


def test_row21_json_body_is_refused(live: ChannelStack) -> None:
    url, _ = live.wechat_peer.signed_request("<xml></xml>")
    assert post(live, url, b'{"ToUserName":"gh","Encrypt":"x"}').status_code == 400


def test_row26_outside_48h_the_reply_goes_to_the_push_pipeline(live: ChannelStack) -> None:
    # the platform's window is closed (last message 49 h ago) though ours thinks it is open
    httpx.put(f"{live.simulator_url}/sim/wechat/users/o_late_user_01/window",
              json={"last_message_hours_ago": 49}, timeout=5)  # fmt: skip
    xml = wechat_xml(UserAction(type="text", content="电费"), "o_late_user_01", "gh")
    url, body = live.wechat_peer.signed_request(xml)
    post(live, url, body)
    deadline = time.monotonic() + 15
    while not live.pushes_for({"wechat_openid": "o_late_user_01"}) and time.monotonic() < deadline:
        time.sleep(0.1)
    push = live.pushes_for({"wechat_openid": "o_late_user_01"})
    assert push and push[0]["template"] == "chat_reply" and "128.50" in push[0]["params"]["text"]
    assert push[0]["dedup_key"].startswith("chat:wx:")
    assert live.recorded.push_auth[-1] == f"Bearer {ACTIONS_TOKEN}"
    assert [r["errcode"] for r in live.records("custom_send", "o_late_user_01")] == [45015]


def test_a_reply_handed_to_the_push_pipeline_carries_its_message_key_as_the_request_id(live: ChannelStack) -> None:
    """The push's `X-Request-ID` is the journal key of the message it answers (`wx:<appid>:<MsgId>`),
    so the backend stores it as the outbox row's trace_id (docs/contracts.md)."""
    httpx.put(f"{live.simulator_url}/sim/wechat/users/o_traced_user_01/window",
              json={"last_message_hours_ago": 49}, timeout=5)  # fmt: skip
    xml = wechat_xml(UserAction(type="text", content="电费"), "o_traced_user_01", "gh")
    msg_id = xml.split("<MsgId>", 1)[1].split("</MsgId>", 1)[0]
    url, body = live.wechat_peer.signed_request(xml)
    post(live, url, body)
    deadline = time.monotonic() + 15
    while not live.pushes_for({"wechat_openid": "o_traced_user_01"}) and time.monotonic() < deadline:
        time.sleep(0.1)
    (push,) = live.pushes_for({"wechat_openid": "o_traced_user_01"})
    key = f"wx:{live.settings.wechat_app_id}:{msg_id}"
    assert push["dedup_key"] == f"chat:{key}"
    assert live.recorded.push_request_ids[push["dedup_key"]] == key


def test_row27_the_sixth_reply_in_a_window_goes_to_the_push_pipeline(live: ChannelStack) -> None:
    user_says(live, "o_chatty_user_01", "电费")  # opens the window (5 slots)
    live.wait_for("custom_send", "o_chatty_user_01")
    for n in range(5):  # further replies without a new user message: e.g. proactive answers
        xml = wechat_xml(UserAction(type="event", event="CLICK", event_key="MENU_BILL"), "o_chatty_user_01", "gh")
        xml = xml.replace("<CreateTime>", f"<CreateTime>{n}", 1)
        url, body = live.wechat_peer.signed_request(xml)
        post(live, url, body)
    deadline = time.monotonic() + 15
    while not live.pushes_for({"wechat_openid": "o_chatty_user_01"}) and time.monotonic() < deadline:
        time.sleep(0.1)
    sends = live.records("custom_send", "o_chatty_user_01")
    assert len(sends) == 5 and all(r["errcode"] == 0 for r in sends)
    assert live.pushes_for({"wechat_openid": "o_chatty_user_01"})


def test_unfollow_and_follow_again_are_reported_to_the_backend(live: ChannelStack) -> None:
    """Unfollowing and following again reach the backend in order, so its pushes skip WeChat while
    the user is gone (tests/backend/notifications proves what the backend then does)."""
    openid = "o_leaving_user_01"
    for event in ("unsubscribe", "subscribe"):
        xml = wechat_xml(UserAction(type="event", event=event), openid, "gh")
        url, body = live.wechat_peer.signed_request(xml)
        assert post(live, url, body).text == "success"
        deadline = time.monotonic() + 10
        while len([f for f in live.recorded.follows if f[0] == openid]) < 1 + (event == "subscribe"):
            assert time.monotonic() < deadline, live.recorded.follows
            time.sleep(0.1)
    assert [f for f in live.recorded.follows if f[0] == openid] == [(openid, False), (openid, True)]


def test_kf_session_events_reach_the_backend_and_messages_in_a_session_go_to_the_kf(
    live: ChannelStack, redis_url: str
) -> None:
    """WeChat's own customer service (kf mode): the session events the simulated WeChat posts when
    a session is created and closed reach the backend through the channel; while the session
    holds, the customer's messages go to the kf account and start no Rasa turn."""
    openid, account = "o_kf_channel_user_01", f"kf2001@{live.settings.wechat_account}"
    client = WeChatClient(
        live.settings.wechat_app_id, live.settings.wechat_app_secret, live.simulator_url,
        Redis.from_url(redis_url),
    )  # fmt: skip
    client.create_kf_session(openid, account, "客户诉求：咨询电费")
    assert user_says_to_kf(live, openid, "在吗") == {"status": "to_kf", "kf_account": account}
    httpx.post(f"{live.simulator_url}/sim/wechat/kf/{account}/close", params={"openid": openid}).raise_for_status()
    deadline = time.monotonic() + 15
    while len([e for e in live.recorded.kf_events if e["openid"] == openid]) < 2:
        assert time.monotonic() < deadline, live.recorded.kf_events
        time.sleep(0.1)
    assert [e for e in live.recorded.kf_events if e["openid"] == openid] == [
        {"event": "kf_create_session", "openid": openid, "kf_account": account},
        {"event": "kf_close_session", "openid": openid, "kf_account": account},
    ]
    assert live.user_events(openid) == []


def user_says_to_kf(live: ChannelStack, openid: str, text: str) -> dict:
    answer = httpx.post(f"{live.simulator_url}/sim/wechat/users/{openid}/send", json={"type": "text", "content": text})
    answer.raise_for_status()
    return answer.json()


def test_a_message_queued_before_the_rasa_server_started_is_answered(live: ChannelStack) -> None:
    pushes = live.pushes_for({"wechat_openid": REPLAY_USER})
    sends = live.records("custom_send", REPLAY_USER)
    assert sends or pushes  # the platform's window was never opened for this user: a push
    assert [e["text"] for e in live.user_events(REPLAY_USER)] == ["电费"]


def test_row50_ack_latency_under_50_parallel_senders(live: ChannelStack, tmp_path: Path, record_property) -> None:
    """Every ack well inside WeChat's 5 s while the turns run; p50/p99 recorded for the benchmark.

    The senders run in their own process (tests/bot_runtime/ack_load.py), as WeChat is outside.
    """
    requests = []
    for sender in range(50):
        for n in range(2):
            action = UserAction(type="text", content="电费" if n % 2 else "停电了")
            url, body = live.wechat_peer.signed_request(wechat_xml(action, f"o_load_{sender:03d}", "gh"))
            requests.append((url, body.decode()))
    batch = tmp_path / "requests.json"
    batch.write_text(json.dumps(requests), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "tests.bot_runtime.ack_load", str(batch), "50"],
                            cwd=ROOT, capture_output=True, text=True, check=True)  # fmt: skip
    stats = json.loads(result.stdout)
    for name in ("p50_ms", "p99_ms", "max_ms"):
        record_property(f"ack_{name}", stats[name])
    print(f"ack latency, 50 parallel senders: {stats}")
    assert stats["count"] == 100 and stats["not_acked"] == 0
    assert stats["max_ms"] < 5000  # every ack before WeChat gives up, even on a loaded machine
