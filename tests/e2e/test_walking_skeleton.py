"""The walking skeleton, end to end through real processes: a bound customer says "我家停电了" to the
rasa server (REST channel), the dialogue runs with the action server, the action calls the backend
over HTTP with its bearer token, and the reply carries a ticket number that is in the database."""

from __future__ import annotations

import re
import sqlite3

import httpx

from tests.conftest import LiveStack

TICKET_NO = re.compile(r"QX\d{12}")
BOUND_CUSTOMER = ("o_demo_resident_01", "3100000001")  # seeded by backend.seed
# The report is answered with one summary (the bound account's address, the callback phone) to confirm.
CONVERSATION = ["我家停电了", "是的"]


def say(stack: LiveStack, sender: str, text: str) -> list[str]:
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        headers=stack.rasa_headers,
        timeout=60,
    )
    response.raise_for_status()
    return [m["text"] for m in response.json() if "text" in m]


def test_outage_report_over_rest_creates_a_ticket_stored_in_the_database(live_stack: LiveStack) -> None:
    sender, account_no = BOUND_CUSTOMER
    transcript: list[str] = []
    for text in CONVERSATION:
        transcript += say(live_stack, sender, text)
    found = TICKET_NO.findall("\n".join(transcript))
    assert found, "no ticket number in the replies:\n" + "\n".join(transcript)

    ticket_no = found[-1]
    db_path = live_stack.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db_path) as db:
        row = db.execute(
            "SELECT c.account_no FROM ticket t JOIN customer c ON c.id = t.customer_id WHERE t.ticket_no = ?",
            (ticket_no,),
        ).fetchone()
    assert row == (account_no,), f"{ticket_no} is not a ticket of {account_no} in the database"

    api = httpx.get(
        f"{live_stack.backend_url}/api/v1/tickets/{ticket_no}", headers=live_stack.admin_headers, timeout=10
    )
    assert api.status_code == 200
    assert api.json()["status"] in {"dispatched", "received"}
    # Withdrawn again, so that the customer has no open ticket in the tests that follow.
    cancelled = httpx.post(
        f"{live_stack.backend_url}/api/v1/tickets/{ticket_no}/events",
        json={"type": "cancel", "note": "测试结束"},
        headers=live_stack.admin_headers,
        timeout=10,
    )
    assert cancelled.status_code == 200, cancelled.text
