"""Conversation events leave the action server in batches, off the customer's path
(actions/outcomes.py), against a real backend: a turn only buffers its events; a flush posts one
request with all of them; a full batch or the timer sends them with nobody asking; a backend that
hangs or is down delays no turn and loses nothing but what overflows the buffer's bound."""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import outcomes
from actions.converse import ActionConverse
from actions.outcomes import OutcomeBatcher
from clients.backend import BackendClient
from scripts.stack import free_port
from tests.actions.conftest import Backend, World, make_tracker, responses

BATCH_ROUTE = "/api/v1/conversation-events/batch"


def batch_requests(backend: Backend) -> float:
    """How many batches the backend has answered (its Prometheus counter)."""
    with urllib.request.urlopen(f"{backend.url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    pattern = rf'^powerdesk_http_requests_total\{{[^}}]*route="{re.escape(BATCH_ROUTE)}"[^}}]*\}} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))


def stored(backend: Backend, prefix: str) -> list[tuple[str, str]]:
    """The (sender, kind) events the backend stored for senders starting with `prefix`, in order."""
    with sqlite3.connect(backend.env["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        query = "SELECT sender_id, kind FROM conversation_event WHERE sender_id LIKE ? ORDER BY id"
        return list(db.execute(query, (prefix + "%",)))


def events(prefix: str, count: int, kind: str = "resolved") -> list[dict[str, str]]:
    now = datetime.now(timezone.utc)
    return [
        {"sender_id": f"{prefix}{n}", "channel": "wechat", "kind": kind, "at": (now - timedelta(seconds=n)).isoformat()}
        for n in range(count)
    ]


def client_of(backend: Backend, url: str | None = None, timeout: float = 4.0) -> BackendClient:
    return BackendClient(url or backend.url, backend.env["POWERDESK_ACTIONS_TOKEN"], timeout=timeout)


async def until(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time given")


async def turn(tracker: Any, domain: dict[str, Any]) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    await ActionConverse().run(dispatcher, tracker, domain)
    return dispatcher


async def test_turns_only_buffer_and_a_flush_posts_them_in_one_request(
    world: World, actions_env: Backend, domain: dict[str, Any], outcome_batcher: OutcomeBatcher
) -> None:
    batcher = outcome_batcher
    stranger = f"o_stranger_{secrets.token_hex(4)}"
    await turn(make_tracker(world.openid, "阿巴阿巴", "nlu_fallback"), domain)
    await turn(make_tracker(world.openid, "怎么交电费", "payment_methods"), domain)
    await turn(make_tracker(stranger, "你好", "greet"), domain)
    assert [(e["sender_id"], e["kind"]) for e in batcher.pending] == [
        (world.openid, "fallback"),
        (world.openid, "resolved"),
        (stranger, "resolved"),
    ]
    assert stored(actions_env, world.openid) == [], "nothing is posted in a customer's turn"
    before = batch_requests(actions_env)
    await batcher.flush()
    assert batch_requests(actions_env) == before + 1
    assert stored(actions_env, world.openid) + stored(actions_env, stranger) == [
        (world.openid, "fallback"),
        (world.openid, "resolved"),
        (stranger, "resolved"),
    ]
    assert batcher.pending == []


async def test_a_full_batch_the_timer_or_a_stop_sends_with_nobody_asking(actions_env: Backend) -> None:
    prefix = f"o_full_{secrets.token_hex(3)}_"
    full = OutcomeBatcher(lambda: client_of(actions_env), every=60, batch=3)
    full.add(events(prefix, 2))
    await asyncio.sleep(0.5)
    assert stored(actions_env, prefix) == [], "below a batch, the timer's 60 s are awaited"
    full.add(events(prefix + "x", 1))
    await until(lambda: len(stored(actions_env, prefix)) == 3)
    prefix = f"o_timer_{secrets.token_hex(3)}_"
    timed = OutcomeBatcher(lambda: client_of(actions_env), every=0.2)
    timed.add(events(prefix, 2))
    await until(lambda: len(stored(actions_env, prefix)) == 2)
    await timed.close()
    prefix = f"o_stop_{secrets.token_hex(3)}_"
    full.add(events(prefix, 1))
    await full.close()  # the action server stops: what is left is sent once
    assert stored(actions_env, prefix) == [(f"{prefix}0", "resolved")]


async def test_a_turn_does_not_wait_for_a_backend_that_hangs(
    world: World, actions_env: Backend, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is in flight to a backend that takes it and never answers; the customer's turn is
    answered meanwhile. When that backend goes away, the batch is kept with the turn's event and
    both are sent once a backend is there again."""
    held: list[asyncio.StreamWriter] = []
    taken = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        held.append(writer)
        taken.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    target = [f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"]
    batcher = OutcomeBatcher(lambda: client_of(actions_env, target[0], timeout=30), every=60, batch=1)
    monkeypatch.setattr(outcomes, "batcher", batcher)
    prefix = f"o_hang_{secrets.token_hex(3)}_"
    batcher.add(events(prefix, 1))
    await asyncio.wait_for(taken.wait(), 10)
    dispatcher = await asyncio.wait_for(turn(make_tracker(world.openid, "阿巴阿巴", "nlu_fallback"), domain), 10)
    assert responses(dispatcher) == ["utter_default"]
    assert [e["kind"] for e in batcher.pending] == ["fallback"], "the turn's event waits behind the batch in flight"
    server.close()
    for writer in held:
        writer.close()
    await until(lambda: len(batcher.pending) == 2)
    assert [e["sender_id"] for e in batcher.pending] == [f"{prefix}0", world.openid]
    target[0] = actions_env.url
    await batcher.flush()
    assert stored(actions_env, prefix) == [(f"{prefix}0", "resolved")]
    assert stored(actions_env, world.openid)[-1] == (world.openid, "fallback")
    await batcher.close()


async def test_a_backend_that_is_down_loses_only_what_overflows_the_bound(actions_env: Backend) -> None:
    target = [f"http://127.0.0.1:{free_port()}"]  # nothing listens there
    batcher = OutcomeBatcher(lambda: client_of(actions_env, target[0]), every=0.05, batch=3, keep=5)
    prefix = f"o_down_{secrets.token_hex(3)}_"
    sent = events(prefix, 7)
    batcher.add(sent[:3])
    await batcher.flush()  # refused: kept for the next batch
    assert batcher.pending == sent[:3]
    batcher.add(sent[3:])  # 7 waiting, 5 kept: the 2 oldest dropped
    assert batcher.pending == sent[2:] and batcher.dropped == 2
    await asyncio.sleep(0.3)  # the timer's rounds fail too, and change nothing
    await until(lambda: batcher.pending == sent[2:])
    target[0] = actions_env.url
    await until(lambda: len(stored(actions_env, prefix)) == 5)
    assert stored(actions_env, prefix) == [(e["sender_id"], "resolved") for e in sent[2:]]
    assert batcher.pending == [] and batcher.dropped == 2
    await batcher.close()


async def test_a_batch_the_backend_refuses_is_dropped(actions_env: Backend) -> None:
    batcher = OutcomeBatcher(lambda: client_of(actions_env), every=60)
    prefix = f"o_refused_{secrets.token_hex(3)}_"
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    batcher.add([events(prefix, 1)[0] | {"at": future.isoformat()}])
    await batcher.flush()  # 422 event_in_future: it would be refused again
    assert batcher.pending == [] and stored(actions_env, prefix) == []
    await batcher.close()
