"""Praise is passed on, as the bot promises ("我们会把您的表扬转达给师傅"): to the worker of the
customer's ticket someone came out to, as a line of its timeline (and a WeCom message,
tests/backend/test_tickets.py). Without such a ticket nothing is promised."""

from __future__ import annotations

import asyncio

from tests.dialogue.conftest import Backend, Chat, Place, names


def test_praise_without_a_visit_is_thanked_without_a_promise(chat: Chat) -> None:
    assert names(chat.say("你们服务真好，点赞", intent="thank")) == ["utter_praise_thanks_general"]


def test_praise_after_a_visit_reaches_that_tickets_worker(backend: Backend, place: Place, chat: Chat) -> None:
    client = backend.client().for_sender("wechat", place.openid)
    report = {"account_no": place.account_no, "channel": "wechat", "sender_id": place.openid, "description": "停电"}
    ticket_no = asyncio.run(client.create_repair_report(report, f"praise-{place.openid}"))["ticket_no"]
    asyncio.run(client.ticket_event(ticket_no, {"type": "accept", "worker_code": place.worker_code}))

    assert names(chat.say("师傅来得很快，服务很好", intent="thank")) == ["utter_praise_thanks"]

    timeline = asyncio.run(client.ticket(ticket_no))["timeline"]
    assert (timeline[-1]["type"], timeline[-1]["note"]) == ("praised", "客户表扬：师傅来得很快，服务很好")
