"""The SMS input channel. It runs in the bot env (skipped in the app env):

    .venv-bot/bin/python -m pytest --noconftest -p no:cacheprovider tests/connectors/sms/test_sms_channel.py

A real HTTP stand-in for the backend records what the channel hands to the push pipeline and the
opt-out endpoint; the Rasa turn is a small coroutine that answers like an assistant would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("rasa", reason="the SMS channel runs in the bot env")

from rasa.core.channels.channel import UserMessage

from connectors._journal import Journal
from connectors.sms import protocol
from connectors.sms.channel import OptOuts, SmsInput
from connectors.wechat.push import PushPipeline

TOKEN = "sms-inbound-token-0123456789"
ALIYUN = [
    {
        "phone_number": "13800000002",
        "content": "家里停电了",
        "send_time": "2026-11-22 15:30:00",
        "dest_code": "1069",
        "sequence_id": 9001,
    }
]
TENCENT = {
    "extend": "",
    "mobile": "13800000003",
    "nationcode": "86",
    "sign": "",
    "text": "查电费",
    "time": 1795331000,
}


class Backend:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                backend.calls.append((self.path, body))
                self.send_response(201 if self.path.endswith("/notifications") else 204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def backend() -> Iterator[Backend]:
    running = Backend()
    yield running
    running.server.shutdown()


@pytest.fixture
def channel(backend: Backend, tmp_path) -> SmsInput:  # type: ignore[no-untyped-def]
    return SmsInput(
        TOKEN,
        protocol.parse_allowlist("127.0.0.1, 10.0.0.0/8"),
        Journal(tmp_path / "journal.sqlite3"),
        PushPipeline(backend.url, "actions-token"),
        OptOuts(backend.url, "actions-token"),
    )


class Assistant:
    """Stands in for Rasa: records each message and answers with two bot messages and a button."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")
        await message.output_channel.send_text_with_buttons(
            message.sender_id, "请选择", [{"title": "报修", "payload": "/report_outage"}]
        )


async def test_aliyun_push_is_acked_processed_once_and_answered_by_sms(channel, backend):
    assistant = Assistant()
    body = json.dumps(ALIYUN).encode()
    started = time.perf_counter()
    answer = channel.accept("127.0.0.1", TOKEN, body, assistant)
    assert time.perf_counter() - started < 0.7
    assert answer.status == 200 and json.loads(answer.body) == {"code": 0, "msg": "接收成功"}
    again = channel.accept("127.0.0.1", TOKEN, body, assistant)  # Aliyun retries: acked, not processed
    assert json.loads(again.body) == {"code": 0, "msg": "接收成功"}
    await channel.queues.drain()
    (message,) = assistant.messages
    assert (message.sender_id, message.input_channel, message.text) == ("13800000002", "sms", "家里停电了")
    assert message.metadata == {"message_key": "sms:aliyun:9001", "msg_type": "text"}
    ((path, push),) = backend.calls
    assert path == "/api/v1/notifications"
    assert push["recipient"] == {"phone": "13800000002"} and push["template"] == "chat_reply"
    assert push["dedup_key"] == "chat:sms:aliyun:9001" and "收到：家里停电了" in push["params"]["text"]
    assert "请选择" in push["params"]["text"] and channel.journal.state("sms:aliyun:9001") == "done"


async def test_tencent_reply_without_id_is_deduplicated(channel, backend):
    assistant = Assistant()
    body = json.dumps(TENCENT).encode()
    assert json.loads(channel.accept("10.1.2.3", TOKEN, body, assistant).body) == {
        "result": 0,
        "errmsg": "OK",
    }
    channel.accept("10.1.2.3", TOKEN, body, assistant)
    await channel.queues.drain()
    assert [m.text for m in assistant.messages] == ["查电费"]


async def test_opt_out_is_recorded_at_once_without_a_turn(channel, backend):
    assistant = Assistant()
    body = json.dumps([dict(ALIYUN[0], content="TD", sequence_id=9002)]).encode()
    channel.accept("127.0.0.1", TOKEN, body, assistant)
    await channel.queues.drain()
    assert not assistant.messages
    assert backend.calls == [("/api/v1/notifications/opt-outs", {"phone": "13800000002"})]


async def test_forged_or_malformed_pushes_are_refused(channel, backend):
    assistant = Assistant()
    body = json.dumps(ALIYUN).encode()
    assert channel.accept("8.8.8.8", TOKEN, body, assistant).status == 403
    assert channel.accept("127.0.0.1", "guess", body, assistant).status == 401
    assert channel.accept("127.0.0.1", None, body, assistant).status == 401
    assert channel.accept("127.0.0.1", TOKEN, b'[{"phone_number": "1"}]', assistant).status == 400
    await channel.queues.drain()
    assert not assistant.messages and not backend.calls


async def test_a_failed_turn_stays_journalled_and_is_replayed(channel, backend):
    calls = 0

    async def flaky(message: UserMessage) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("tracker store down")
        await message.output_channel.send_text_message(message.sender_id, "您好")

    channel.accept("127.0.0.1", TOKEN, json.dumps(ALIYUN).encode(), flaky)
    await channel.queues.drain()
    assert channel.journal.state("sms:aliyun:9001") == "pending"
    assert backend.calls[0][1]["dedup_key"] == "chat:sms:aliyun:9001:busy"
    channel.replay_pending(flaky)
    await channel.queues.drain()
    assert channel.journal.state("sms:aliyun:9001") == "done" and backend.calls[-1][1]["params"]["text"] == "您好"
