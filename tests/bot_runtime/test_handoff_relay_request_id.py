"""The hand-off relay (bot_runtime/handoff_relay.py) passes a customer's words to the person under the
request id of the message being handled (`request_ids.current`, which the channel sets for each try),
against a stand-in of the backend's `POST /handoffs/{id}/customer-messages` and a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from redis import Redis

from bot_runtime.handoff_relay import ACKNOWLEDGEMENT, HandoffRelay
from clients import request_ids
from clients.backend import BackendClient
from tests.support.servers import serve


def test_the_message_passed_to_the_person_carries_its_request_id(redis_url: str) -> None:
    seen: list[tuple[int, str | None]] = []
    app = FastAPI()

    @app.post("/api/v1/handoffs/{handoff_id}/customer-messages")
    async def customer_message(handoff_id: int, request: Request) -> dict[str, Any]:
        seen.append((handoff_id, request.headers.get(request_ids.HEADER)))
        return {"status": "waiting", "acknowledge": True}

    async def one_try(key: str) -> str | None:
        request_ids.current.set(request_ids.of_message(key))  # as QueueInput._try does
        return await relay.pass_on("wechat", "o_waiting_01", 7, "我家的表箱在三楼", {})

    with serve(app) as backend_url:
        relay = HandoffRelay(Redis.from_url(redis_url), BackendClient(backend_url, "relay-test-token"))
        relay.use_domain({ACKNOWLEDGEMENT: [{"text": "已转给人工客服，请稍候。"}]})
        key = "wx:wx0123456789abcdef:7442001234567890123"
        assert asyncio.run(one_try(key)) == "已转给人工客服，请稍候。"
    assert seen == [(7, key)]
