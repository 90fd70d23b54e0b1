"""The rasa server's launcher (bot_runtime/rasa_server.py), running as a real process with the channel
tests' fixture bot: the API token is taken from the environment, only from the Authorization header,
never seen on the command line; bodies are capped before anything is checked; no REST channel unless
asked for; `/metrics` open without it."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import psutil

from tests.bot_runtime.channel_stack import RASA_API_TOKEN, ChannelStack
from tests.support.scrape import scrape, value


def test_the_api_takes_the_token_from_the_header_only(live: ChannelStack) -> None:
    """Proves `?token=` (Rasa's only way) is refused even when right, and the header works."""
    status = f"{live.rasa_url}/status"
    assert httpx.get(status, timeout=10).status_code == 401
    assert httpx.get(status, params={"token": RASA_API_TOKEN}, timeout=10).status_code == 400
    assert httpx.get(status, headers={"Authorization": "Bearer wrong-token-000000000"}, timeout=10).status_code == 403
    assert httpx.get(status, headers=live.rasa_headers, timeout=10).status_code == 200
    assert httpx.get(f"{live.rasa_url}/", timeout=10).status_code == 200  # the health page stays open


def test_the_rest_channel_is_absent_unless_enabled(live: ChannelStack) -> None:
    """The channel stack starts without --enable-rest: nobody can speak as any sender."""
    body = {"sender": "o_demo_resident_01", "message": "电费"}
    rest = f"{live.rasa_url}/webhooks/rest/webhook"
    assert httpx.post(rest, json=body, timeout=10).status_code == 401
    assert httpx.post(rest, json=body, headers=live.rasa_headers, timeout=10).status_code == 404


def test_the_token_is_not_on_the_command_line(live: ChannelStack) -> None:
    port = urlsplit(live.rasa_url).port
    (server,) = [c.pid for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == port]
    process = psutil.Process(server)
    assert process.cmdline()[1:3] == ["-m", "bot_runtime.rasa_server"]
    assert RASA_API_TOKEN not in " ".join(process.cmdline())
    assert {c.laddr.ip for c in psutil.net_connections("tcp") if c.laddr.port == port and c.status == "LISTEN"} == {
        "127.0.0.1"
    }


def test_a_body_over_the_cap_is_never_taken(live: ChannelStack) -> None:
    """Sanic's default cap is 100 MB; the launcher's is 1 MiB, with or without a token."""
    big = b"x" * (2 * 1024 * 1024)
    assert httpx.post(f"{live.rasa_url}/model/parse", content=big, headers=live.rasa_headers).status_code == 413
    assert httpx.post(f"{live.rasa_url}/model/parse", content=big).status_code in (401, 413)


def test_metrics_are_open_without_the_token_and_count_the_channels_turns(live: ChannelStack) -> None:
    """`/metrics` is exempt from the token (loopback, docs/contracts.md), but not from the rule that no
    token travels in a URL; a message answered through the WeChat channel is counted and timed, and
    the journal's queue depth is read for every channel the server follows."""
    assert httpx.get(f"{live.rasa_url}/metrics", params={"token": RASA_API_TOKEN}, timeout=10).status_code == 400
    before = scrape(live.rasa_url)
    answer = httpx.post(f"{live.simulator_url}/sim/wechat/users/o_counted_user_01/send", params={"wait": "true"},
                        json={"type": "text", "content": "你好"}, timeout=30)  # fmt: skip
    assert answer.json()["answer"] == "success"
    live.wait_for("custom_send", "o_counted_user_01")
    answered = {"channel": "wechat", "outcome": "answered"}
    deadline, after = time.monotonic() + 10, scrape(live.rasa_url)
    while value(after, "powerdesk_turns_total", **answered) <= value(before, "powerdesk_turns_total", **answered):
        assert time.monotonic() < deadline, "the answered turn was not counted"
        time.sleep(0.1)
        after = scrape(live.rasa_url)
    timed = "powerdesk_turn_duration_seconds_count"
    assert value(after, timed, channel="wechat") > value(before, timed, channel="wechat")
    queues = {dict(labels)["channel"] for name, labels in after if name == "powerdesk_inbound_queue_depth"}
    assert queues == {"wechat", "wecom"}
