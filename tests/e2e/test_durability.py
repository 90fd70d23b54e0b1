"""Messages survive what fails behind the channels, end to end through the real processes
(RELIABILITY rows 42 and 35): the action server killed in the middle of a turn, and SMS replies and
delivery reports taken by the webhook gateway."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time

import httpx

from platforms import texts
from tests.conftest import LiveStack
from tests.e2e.test_wechat_repair_flow import records, say

CUSTOMER = "o_demo_resident_03"  # 王建国, bound to 3100000003 (backend/seed.py)
PHONE = "13800138003"  # his phone, for SMS


def replies_to(live: LiveStack, openid: str, since: int) -> list[str]:
    return [str(r.get("content", "")) for r in records(live, to=openid, since=str(since)) if r.get("api") != "callback"]


def test_row42_the_action_server_killed_during_a_turn_and_the_message_answered_after_it_restarts(
    live_stack: LiveStack,
) -> None:
    """The action server is frozen while the turn waits for it, then killed (SIGKILL): the turn fails,
    the customer is told once that the answer is delayed, and the same message is answered after the
    action server is started again; nothing was saved from the failed turn."""
    actions = next(p for p in live_stack.stack.processes if p.name == "actions")
    os.killpg(actions.popen.pid, signal.SIGSTOP)  # the call to it is taken by the kernel and never answered
    try:
        since = say(live_stack, f"/sim/wechat/users/{CUSTOMER}/send", "这个月电费多少")
        time.sleep(2.0)  # the turn is now waiting on the frozen action server
        live_stack.stack.kill("actions")
        deadline = time.monotonic() + 30
        while texts.DELAYED not in replies_to(live_stack, CUSTOMER, since) and time.monotonic() < deadline:
            time.sleep(0.3)
        # his planned outage next week may be announced meanwhile: only the turn's messages are looked at
        assert not any("电费" in text for text in replies_to(live_stack, CUSTOMER, since))
        assert texts.DELAYED in replies_to(live_stack, CUSTOMER, since)
    finally:
        live_stack.stack.start_actions(live_stack.ports["actions"])
    deadline = time.monotonic() + 90
    while not any("电费" in text for text in replies_to(live_stack, CUSTOMER, since)) and time.monotonic() < deadline:
        time.sleep(0.5)
    answered = replies_to(live_stack, CUSTOMER, since)
    bill = next(n for n, text in enumerate(answered) if "电费" in text)
    assert answered.count(texts.DELAYED) == 1 and answered.index(texts.DELAYED) < bill, answered
    tracker = httpx.get(f"{live_stack.rasa_url}/conversations/{CUSTOMER}/tracker", headers=live_stack.rasa_headers)
    said = [e["text"] for e in tracker.json()["events"] if e["event"] == "user"]
    assert said.count("这个月电费多少") == 1, said  # the failed turn left nothing behind


def test_row35_an_sms_reply_is_answered_by_sms_and_its_delivery_recorded(live_stack: LiveStack) -> None:
    """The phone replies through the provider's push to the webhook gateway; the answer goes out by
    SMS, and the provider's delivery report comes back through the gateway to the push."""
    sent = httpx.post(
        f"{live_stack.simulator_url}/sim/sms/reply", json={"phone": PHONE, "text": "电费多少"}, timeout=10
    )
    assert sent.json()["delivered"] is True, sent.text
    deadline = time.monotonic() + 60
    messages: list[dict] = []
    while not messages and time.monotonic() < deadline:
        answer = httpx.get(f"{live_stack.simulator_url}/sim/sms/messages", params={"phone": PHONE}, timeout=10)
        messages = [m for m in answer.json() if m["template"] == "chat_reply"]
        time.sleep(0.5)
    assert messages and re.search(r"\S", messages[0]["text"]), "no SMS answer"
    db = live_stack.database_url.removeprefix("sqlite:///")
    deadline = time.monotonic() + 30
    delivered = None
    while delivered is None and time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT delivered_at FROM outbox_message"
                " WHERE template = 'chat_reply' AND phone = ? AND channel = 'sms'",
                (PHONE,),
            ).fetchone()
        delivered = row[0] if row else None
        time.sleep(0.5)
    assert delivered is not None, "the delivery report did not reach the push"
