"""The bot-env processes' `/metrics` and request ids, end to end (issue 21): a bound customer reports
an outage in the simulator's WeChat (through the webhook gateway, the rasa server's WeChat channel,
the action server and the backend), then the gateway's, the rasa server's and the action server's
`/metrics` are scraped without credentials, and the ticket's pushes carry the queue key of the
message that filed it as their `trace_id`."""

from __future__ import annotations

import json
import sqlite3

import httpx
from redis import Redis

from bot_runtime.inbound_queue import InboundQueue
from tests.conftest import LiveStack
from tests.e2e.test_wechat_repair_flow import CUSTOMER, TICKET, say, wait_for_text
from tests.support.scrape import Samples, scrape, value


def grew(after: Samples, before: Samples, name: str, by: int, **labels: str) -> bool:
    return value(after, name, **labels) >= value(before, name, **labels) + by


def test_one_report_is_counted_by_every_bot_process_and_its_key_follows_it_to_the_outbox(
    live_stack: LiveStack,
) -> None:
    gateway, rasa, actions = live_stack.env["GATEWAY_URL"], live_stack.rasa_url, live_stack.actions_url
    before = {url: scrape(url) for url in (gateway, rasa, actions)}

    since = say(live_stack, f"/sim/wechat/users/{CUSTOMER}/send", "我家停电了")
    wait_for_text(live_stack, CUSTOMER, "回复1", since)
    since = say(live_stack, f"/sim/wechat/users/{CUSTOMER}/send", "1")
    ticket_no = TICKET.search(wait_for_text(live_stack, CUSTOMER, TICKET.pattern, since)["content"]).group(0)
    try:
        queue = InboundQueue(
            Redis.from_url(live_stack.env["REDIS_URL"]), namespace_=live_stack.env["POWERDESK_NAMESPACE"]
        )
        stream = queue.stream("wechat", queue.partition_of(CUSTOMER))
        key, content = next(
            (fields[b"key"].decode(), json.loads(fields[b"payload"])["Content"])
            for _, fields in queue.redis.xrevrange(stream)
            if fields[b"sender"].decode() == CUSTOMER
        )
        assert content == "1" and key.startswith(f"wx:{live_stack.env['WECHAT_APP_ID']}:")
        with sqlite3.connect(live_stack.database_url.removeprefix("sqlite:///")) as db:
            traces = db.execute(
                "SELECT DISTINCT trace_id FROM outbox_message WHERE dedup_key LIKE ?", (f"ticket:{ticket_no}:%",)
            ).fetchall()
        assert traces == [(key,)]
    finally:  # withdrawn, so that the customer has no open ticket in the tests that follow
        cancelled = httpx.post(f"{live_stack.backend_url}/api/v1/tickets/{ticket_no}/events",
                               json={"type": "cancel", "note": "测试结束"}, headers=live_stack.admin_headers,
                               timeout=10)  # fmt: skip
        assert cancelled.status_code == 200, cancelled.text

    after = {url: scrape(url) for url in (gateway, rasa, actions)}
    assert grew(after[gateway], before[gateway], "powerdesk_inbound_messages_total", 2, channel="wechat",
                outcome="accepted")  # fmt: skip
    assert grew(after[gateway], before[gateway], "powerdesk_ack_duration_seconds_count", 2, channel="wechat")
    assert grew(after[rasa], before[rasa], "powerdesk_turns_total", 2, channel="wechat", outcome="answered")
    assert grew(after[rasa], before[rasa], "powerdesk_turn_duration_seconds_count", 2, channel="wechat")
    assert grew(after[actions], before[actions], "powerdesk_action_runs_total", 2, action="action_converse",
                outcome="ok")  # fmt: skip
    assert grew(after[actions], before[actions], "powerdesk_action_duration_seconds_count", 2,
                action="action_converse")  # fmt: skip
    for process in (gateway, rasa):
        assert ("powerdesk_inbound_queue_depth", frozenset({("channel", "wechat")})) in after[process]
