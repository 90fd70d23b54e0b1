"""End to end through the real protocols (issue 5): a bound demo customer reports an outage in the
simulator, the grid worker's WeCom gets the task, the worker accepts, the customer gets the push.

Runs the whole stack (`live_stack`: backend with the demo data, action server, rasa server with
the trained model and these channels, simulator, notifier). The conversation is the bot's repair
dialogue for a bound customer: the report is answered with one summary (address, callback phone)
to confirm with "1", and "1" files it. The customer then reads, in this order and once each, the
reply with the ticket and the arrival time, and the push that the worker accepted it: the ticket
is never pushed a second time, so no push can overtake the reply (no hold timer orders them).
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.conftest import LiveStack

CUSTOMER = "o_demo_resident_01"  # 张伟, 3100000001 (backend/seed.py)
TICKET = re.compile(r"QX\d{12}")


def records(live: LiveStack, **query: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{live.simulator_url}/sim/records", params=query, timeout=10)
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()
    return found


def assigned_wecom_user(live: LiveStack, ticket_no: str) -> str:
    ticket = httpx.get(f"{live.backend_url}/api/v1/tickets/{ticket_no}", headers=live.admin_headers, timeout=10)
    code = ticket.json()["worker"]["code"]
    workers = httpx.get(f"{live.backend_url}/api/v1/workers", headers=live.admin_headers, timeout=10).json()
    return str(next(w["wecom_user_id"] for w in workers if w["code"] == code))


def wait_for_text(live: LiveStack, to: str, pattern: str, since: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in records(live, to=to, since=str(since)):
            if record.get("api") != "callback" and re.search(pattern, str(record.get("content", ""))):
                return record
        time.sleep(0.3)
    raise AssertionError(f"no message matching {pattern!r} to {to}: {records(live, to=to)}")


def say(live: LiveStack, path: str, text: str) -> int:
    """Send as a user and return the record position before it (replies come after)."""
    since = len(records(live))
    answer = httpx.post(f"{live.simulator_url}{path}", params={"wait": "true"},
                        json={"type": "text", "content": text}, timeout=30)  # fmt: skip
    assert answer.json()["answer"] == "success"
    return since


def test_outage_report_reaches_the_worker_and_the_acceptance_reaches_the_customer(
    live_stack: LiveStack,
) -> None:
    customer = f"/sim/wechat/users/{CUSTOMER}/send"
    since = say(live_stack, customer, "我家停电了")
    wait_for_text(live_stack, CUSTOMER, "回复1", since)
    filed = say(live_stack, customer, "1")  # confirm the summary
    confirmation = wait_for_text(live_stack, CUSTOMER, TICKET.pattern, filed)
    assert "前到达现场" in confirmation["content"], "the reply tells the arrival time"
    since = filed
    ticket_no = TICKET.search(confirmation["content"]).group(0)

    # dispatch is load-aware: whichever on-duty worker of the cell the backend chose gets the task
    worker_id = assigned_wecom_user(live_stack, ticket_no)
    task = wait_for_text(live_stack, worker_id, ticket_no, since)
    assert task["platform"] == "wecom" and task["status"] == "delivered"

    since = say(live_stack, f"/sim/wecom/users/{worker_id}/send", "接单")
    push = wait_for_text(live_stack, CUSTOMER, f"{ticket_no}.*接单", since)
    assert push["platform"] == "wechat" and push["errcode"] == 0
    time.sleep(2)  # the notifier's next rounds: anything else due for the customer would be sent by now
    told = [r["content"] for r in records(live_stack, to=CUSTOMER, since=str(filed)) if r.get("api") != "callback"]
    assert told == [confirmation["content"], push["content"]], told

    url = f"{live_stack.backend_url}/api/v1/tickets/{ticket_no}"
    ticket = httpx.get(url, headers=live_stack.admin_headers, timeout=10).json()
    assert ticket["status"] == "accepted" and ticket["worker"]["code"]
