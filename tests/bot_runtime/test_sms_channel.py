"""The SMS channel of the rasa server, and through it what every channel does with a queued
message (bot_runtime/_inbox.py). It runs in the bot env (skipped in the app env), on the Redis of
REDIS_URL, else a private one (each test in a namespace of its own):

    .venv-bot/bin/python -m pytest --noconftest -p no:cacheprovider tests/bot_runtime/test_sms_channel.py

The messages are queued as the webhook gateway queues them; a real HTTP stand-in for the backend
records (or refuses, while "down") what the channel hands to the push pipeline and the opt-out routes;
the Rasa turn is a small coroutine that answers like an assistant, or fails as the turn does when the
action server is down (`TurnFailed`, bot_runtime/turn_failures.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("rasa", reason="the SMS channel runs in the bot env")

from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot_runtime import _inbox
from bot_runtime.channels.sms import SmsInput
from bot_runtime.inbound_queue import InboundQueue, PartitionShare
from bot_runtime.turn_failures import TurnFailed
from clients.backend import BackendClient
from platforms import texts
from platforms.sms import protocol
from tests.conftest import redis_url  # noqa: F401 - the Redis fixture of the suite (run here without conftest)

PHONE = "13800000002"
ALIYUN = [
    {
        "phone_number": PHONE,
        "content": "家里停电了",
        "send_time": "2026-11-22 15:30:00",
        "dest_code": "1069",
        "sequence_id": 9001,
    }
]


class Backend:
    """Records the calls; answers 503 to everything while `down`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.down = False
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                if backend.down:
                    self.send_response(503)
                else:
                    backend.calls.append((self.command, self.path, body))
                    self.send_response(201 if self.path.endswith("/notifications") else 204)
                self.send_header("content-length", "0")
                self.end_headers()

            do_POST = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [body["params"]["text"] for _, path, body in self.calls if path.endswith("/notifications")]


@pytest.fixture
def backend() -> Iterator[Backend]:
    running = Backend()
    yield running
    running.server.shutdown()


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_inbox, "RETRY_STEPS", (0.0,))


@pytest.fixture
def namespace() -> str:
    return f"pdsms{secrets.token_hex(4)}"


@pytest.fixture
def make_channel(backend: Backend, redis_url: str) -> Callable[[str], SmsInput]:  # noqa: F811
    def make(namespace: str) -> SmsInput:
        queue = InboundQueue(Redis.from_url(redis_url, socket_timeout=2), namespace_=namespace)
        return SmsInput(queue, BackendClient(backend.url, "actions-token"))

    return make


@pytest.fixture
def channel(make_channel: Callable[[str], SmsInput], namespace: str) -> SmsInput:
    return make_channel(namespace)


def queue_push(channel: SmsInput, items: list[dict[str, Any]]) -> list[str]:
    """What the webhook gateway does with an accepted push: each item queued."""
    batch = protocol.parse(json.dumps(items).encode())
    for item in batch.accepted:
        channel.queue.accept(item.key, "sms", item.phone, item.payload())
    return [item.key for item in batch.accepted]


async def run_due(channel: SmsInput, assistant: Any) -> None:
    """One round of the channel: its partitions and their due messages, then what is new."""
    await channel.upkeep(assistant)
    await channel.read_once(channel.queue, assistant, None)
    await channel.queues.drain()


def unfinished(channel: SmsInput) -> int:
    return channel.queue.depth(["sms"])["sms"]


class Assistant:
    """Stands in for Rasa: records each message and answers with two bot messages and a button;
    `failures` makes the next turns fail, as an unreachable action server or a bug does."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.messages: list[UserMessage] = []
        self.failures = failures or []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        if self.failures:
            raise self.failures.pop(0)
        await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")
        await message.output_channel.send_text_with_buttons(
            message.sender_id, "请选择", [{"title": "报修", "payload": "/report_outage"}]
        )


async def test_a_queued_reply_is_answered_once_by_sms(channel: SmsInput, backend: Backend) -> None:
    assistant = Assistant()
    (key,) = queue_push(channel, ALIYUN)
    await run_due(channel, assistant)
    await run_due(channel, assistant)  # nothing left
    (message,) = assistant.messages
    assert (message.sender_id, message.input_channel, message.text) == (PHONE, "sms", "家里停电了")
    assert message.metadata == {"message_key": key, "msg_type": "text"}
    ((method, path, push),) = backend.calls
    assert (method, path) == ("POST", "/api/v1/notifications")
    assert push["recipient"] == {"phone": PHONE} and push["template"] == "chat_reply"
    assert push["dedup_key"] == f"chat:{key}" and "收到：家里停电了" in push["params"]["text"]
    assert unfinished(channel) == 0


async def test_row15_intent_syntax_by_sms_reaches_rasa_as_text(channel: SmsInput, backend: Backend) -> None:
    assistant = Assistant()
    queue_push(channel, [dict(ALIYUN[0], content='/confirm_ticket{"account_no":"3100000002"}')])
    await run_due(channel, assistant)
    assert assistant.messages[0].text == 'confirm_ticket{"account_no":"3100000002"}'


async def test_row40_opt_out_by_keyword_only_and_the_way_back(channel: SmsInput, backend: Backend) -> None:
    assistant = Assistant()
    queue_push(channel, [dict(ALIYUN[0], content="TD", sequence_id=9002)])
    await run_due(channel, assistant)
    assert not assistant.messages and backend.calls == [("POST", "/api/v1/notifications/opt-outs", {"phone": PHONE})]
    queue_push(channel, [dict(ALIYUN[0], content="N", sequence_id=9003)])  # "no", not an unsubscribe
    await run_due(channel, assistant)
    assert [m.text for m in assistant.messages] == ["N"]
    queue_push(channel, [dict(ALIYUN[0], content="订阅", sequence_id=9004)])
    await run_due(channel, assistant)
    assert ("DELETE", f"/api/v1/notifications/opt-outs/{PHONE}", None) in backend.calls
    assert backend.texts()[-1] == texts.SMS_SUBSCRIBED


async def test_row42_a_turn_that_fails_is_kept_told_once_and_answered_later(
    channel: SmsInput, backend: Backend
) -> None:
    """The action server is down for two tries: the customer hears once that the answer is
    delayed, the message is tried again, and answered when the action server is back; the outage
    does not count against the message."""
    down = TurnFailed("action_report_outage", unavailable=True)
    assistant = Assistant([down, down])
    queue_push(channel, ALIYUN)
    await run_due(channel, assistant)
    assert backend.texts() == [texts.DELAYED] and unfinished(channel) == 1
    await run_due(channel, assistant)
    assert backend.texts() == [texts.DELAYED] and unfinished(channel) == 1  # told once
    await run_due(channel, assistant)
    assert unfinished(channel) == 0 and len(assistant.messages) == 3
    assert backend.texts()[1].startswith("收到：家里停电了")


async def test_one_delay_notice_per_sender(channel: SmsInput, backend: Backend) -> None:
    down = TurnFailed("action_report_outage", unavailable=True)
    assistant = Assistant([down, down])
    queue_push(channel, [ALIYUN[0], dict(ALIYUN[0], content="还是没电", sequence_id=9005)])
    await run_due(channel, assistant)
    assert backend.texts() == [texts.DELAYED]


async def test_a_message_that_fails_three_times_is_quarantined_with_an_apology(
    channel: SmsInput, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    assistant = Assistant([RuntimeError("a bug"), RuntimeError("a bug"), RuntimeError("a bug")])
    queue_push(channel, ALIYUN)
    with caplog.at_level(logging.ERROR):
        for _ in range(4):
            await run_due(channel, assistant)
    assert len(assistant.messages) == 3 and unfinished(channel) == 0
    assert [reason for reason, _ in channel.queue.quarantined("sms")] == ["failed 3 times"]
    assert backend.texts() == [texts.DELAYED, texts.APOLOGY]
    alerts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT sms message")]
    assert alerts and "quarantined" in alerts[0]


async def test_a_message_that_crashed_the_process_three_times_is_not_run_again(
    channel: SmsInput, backend: Backend
) -> None:
    """Each crash leaves the attempt counted (claimed before the turn) and the holder gone."""
    (key,) = queue_push(channel, ALIYUN)
    for n in range(3):
        crashed = PartitionShare(channel.queue, "sms", f"gone-{n}")
        crashed.held, _ = crashed.upkeep(busy=lambda _: False)
        (entry,) = [e for p in crashed.held for e in channel.queue.unfinished("sms", p, f"gone-{n}")] or (
            channel.queue.read("sms", crashed.held, f"gone-{n}", block_ms=None)
        )
        assert channel.queue.claim(entry, f"gone-{n}") is not None  # counted, then the process died...
        crashed.leave()  # ...and its lease ran out
    assistant = Assistant()
    await run_due(channel, assistant)
    assert not assistant.messages and unfinished(channel) == 0
    assert backend.texts() == [texts.APOLOGY]
    assert key in channel.queue.quarantined("sms")[0][1].decode()


async def test_row48_a_reply_the_backend_could_not_take_is_handed_over_later_without_a_second_turn(
    channel: SmsInput, backend: Backend
) -> None:
    assistant = Assistant()
    backend.down = True
    queue_push(channel, ALIYUN)
    await run_due(channel, assistant)
    assert len(assistant.messages) == 1 and unfinished(channel) == 1
    backend.down = False
    await run_due(channel, assistant)
    assert len(assistant.messages) == 1 and unfinished(channel) == 0  # the reply kept, no second turn
    assert backend.texts()[-1].startswith("收到：家里停电了")


async def test_row44_two_servers_on_one_queue_answer_a_message_once(
    backend: Backend, make_channel: Callable[[str], SmsInput], namespace: str
) -> None:
    first, second = make_channel(namespace), make_channel(namespace)
    queue_push(first, ALIYUN)
    assistant = Assistant()
    await asyncio.gather(run_due(first, assistant), run_due(second, assistant))
    await asyncio.gather(run_due(first, assistant), run_due(second, assistant))
    assert len(assistant.messages) == 1 and len(backend.texts()) == 1


async def test_a_lock_left_by_a_turn_redis_failed_under_does_not_hold_the_next_try(
    channel: SmsInput, backend: Backend
) -> None:
    """The turn took the conversation's lock (a ticket alive for Rasa's 60 s), then Redis failed
    under it: the message waits as an outage, and its next try deletes the lock instead of waiting
    out that minute."""
    locks = InMemoryLockStore()
    channel.agent = SimpleNamespace(tracker_store=InMemoryTrackerStore(Domain.empty()), lock_store=locks)  # type: ignore[assignment]
    calls = 0

    async def cut_short_then_answered(message: UserMessage) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            locks.issue_ticket(message.sender_id)  # what Rasa does as a turn starts
            raise RedisConnectionError("Connection closed by server.")
        async with locks.lock(message.sender_id, wait_time_in_seconds=0.05):
            await message.output_channel.send_text_message(message.sender_id, "您好")

    queue_push(channel, ALIYUN)
    await run_due(channel, cut_short_then_answered)
    assert unfinished(channel) == 1 and locks.get_lock(PHONE) is not None
    await asyncio.wait_for(run_due(channel, cut_short_then_answered), 10)
    assert unfinished(channel) == 0 and backend.texts() == [texts.DELAYED, "您好"]


async def test_row43_a_turn_slower_than_the_limit_is_given_up_and_tried_again(
    channel: SmsInput, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn that hangs on a slow action server is cut at TURN_TIMEOUT_SECONDS (45 s, under Rasa's
    60 s lock and far under its 300 s action timeout): nothing of it is saved, the message waits
    as an outage and is answered by the next try."""
    monkeypatch.setattr(_inbox, "TURN_TIMEOUT_SECONDS", 0.2)
    calls = 0

    async def slow_then_quick(message: UserMessage) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(5)
        await message.output_channel.send_text_message(message.sender_id, "您好")

    queue_push(channel, ALIYUN)
    await run_due(channel, slow_then_quick)
    assert unfinished(channel) == 1 and backend.texts() == [texts.DELAYED]
    await run_due(channel, slow_then_quick)
    assert unfinished(channel) == 0 and backend.texts() == [texts.DELAYED, "您好"]


async def test_a_message_whose_turn_ran_before_its_server_died_is_not_run_again(
    channel: SmsInput, backend: Backend
) -> None:
    """The turn ran and its conversation was saved, then the process died before the reply was
    kept: the next try answers from the conversation instead of running the turn a second time."""
    (key,) = queue_push(channel, ALIYUN)
    crashed = PartitionShare(channel.queue, "sms", "gone")
    crashed.held, _ = crashed.upkeep(busy=lambda _: False)
    (entry,) = channel.queue.read("sms", crashed.held, "gone", block_ms=None)
    assert channel.queue.claim(entry, "gone") is not None
    store = InMemoryTrackerStore(Domain.empty())
    said = [
        UserUttered("家里停电了", message_id=key),
        BotUttered("已为您登记报修。", {"buttons": [{"title": "查进度"}]}),
    ]
    await store.save(DialogueStateTracker.from_events(PHONE, said))
    crashed.leave()  # the process died
    channel.agent = SimpleNamespace(tracker_store=store, lock_store=InMemoryLockStore())  # type: ignore[assignment]
    assistant = Assistant()
    await run_due(channel, assistant)
    assert assistant.messages == [] and unfinished(channel) == 0
    assert backend.texts() == ["已为您登记报修。\n" + texts.BUTTON_LINE.format(index=1, title="查进度")]
