"""The fake platform side delivers like WeChat: signed, seconds timestamps, retries (A.6, H)."""

from __future__ import annotations

import asyncio
import itertools
import time
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from platforms.wechat.protocol import CallbackGate
from simulator.messages import UserAction, wechat_xml
from simulator.peer import CallbackPeer
from tests.support.keys import new_aes_key
from tests.support.servers import serve


def slow_channel(delays: list[float], seen: list[tuple[float, str, bytes]]) -> FastAPI:
    app = FastAPI()

    @app.post("/webhook")
    async def webhook(request: Request) -> PlainTextResponse:
        seen.append((time.monotonic(), str(request.url), await request.body()))
        delay = delays.pop(0) if delays else 0.0
        await asyncio.sleep(delay)
        return PlainTextResponse("success")

    return app


@pytest.mark.parametrize(("delays", "attempts"), [([0.0], 1), ([2.0, 0.0], 2), ([2.0, 2.0, 2.0], 3)])
async def test_no_answer_within_the_timeout_is_retried_up_to_three_deliveries(delays, attempts) -> None:
    seen: list[tuple[float, str, bytes]] = []
    with serve(slow_channel(list(delays), seen)) as url:
        peer = CallbackPeer(f"{url}/webhook", "tok", new_aes_key(), "wxapp", envelope_to="gh", timeout=0.5)
        async with aiohttp.ClientSession() as client:
            delivery = await peer.deliver(client, wechat_xml(UserAction(type="text", content="停电"), "o_u", "gh"))
    assert delivery.attempts == attempts == len(seen)
    assert delivery.answered == (attempts < 3 or delays[-1] < 0.5)
    assert len({(u, b) for _, u, b in seen}) == 1  # the identical request each time
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    assert all(0.45 <= gap < 2.0 for gap in gaps)


def test_requests_verify_with_the_channel_gate_and_use_seconds() -> None:
    key = new_aes_key()
    peer = CallbackPeer("http://c/webhook", "tok", key, "wxapp", envelope_to="gh")
    url, body = peer.signed_request(wechat_xml(UserAction(type="text", content="停电"), "o_u", "gh"))
    query = dict(parse_qsl(urlsplit(url).query))
    assert abs(int(query["timestamp"]) - time.time()) < 5  # seconds, not milliseconds
    assert query["encrypt_type"] == "aes" and query["signature"] and query["msg_signature"]
    gate = CallbackGate(token="tok", aes_keys=[key], receive_id="wxapp", key_prefix="wx:wxapp")
    assert gate.open(query, body).fields["Content"] == "停电"


def test_control_characters_are_sent_raw_like_wechat() -> None:
    peer = CallbackPeer("http://c/webhook", "tok", "", "wxapp")
    _, body = peer.signed_request(wechat_xml(UserAction(type="text", content="停\x1d电"), "o_u", "gh"))
    assert b"\x1d" in body
