"""The request id the bot env sends the backend (clients/request_ids.py): a message's dedup key as it
is when the backend takes it, else a stable id derived from it; either way one the backend keeps
(its `RequestIds` middleware replaces an id it does not take by a fresh one)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from backend.core.logs import RequestIds, request_id
from clients import request_ids


def echo(_: Request) -> PlainTextResponse:
    return PlainTextResponse(request_id.get() or "")


BACKEND = TestClient(RequestIds(Starlette(routes=[Route("/", echo)])))

KEYS = [
    "wx:wx0123456789abcdef:7442001234567890123",  # a WeChat message
    "wx:wx0123456789abcdef:o6_bmjrPTlm6_2sgVt7hMZOPfL2M:1733300000:click:REPAIR_MENU",  # an event: too long
    "smsr:aliyun:77^1:3f2a9c",  # a delivery report: '^' is not taken
    "sms:aliyun:501",
    "wecom:ww0123456789abcdef:1000002:报修",  # not ASCII
]


@pytest.mark.parametrize("key", KEYS)
def test_the_backend_keeps_the_id_of_every_kind_of_key(key: str) -> None:
    sent = request_ids.of_message(key)
    answer = BACKEND.get("/", headers=request_ids.headers(sent))
    assert answer.text == sent and answer.headers[request_ids.HEADER] == sent


def test_a_key_the_backend_takes_is_its_own_id_and_another_keeps_its_channel_prefix() -> None:
    assert request_ids.of_message(KEYS[0]) == KEYS[0]
    derived = request_ids.of_message(KEYS[1])
    assert derived.startswith("wx:") and derived == request_ids.of_message(KEYS[1])
    assert derived != request_ids.of_message(KEYS[1] + "X")
    assert request_ids.of_message("??:x" * 30).startswith("msg:")


def test_no_id_no_header() -> None:
    assert request_ids.headers(None) == {}
