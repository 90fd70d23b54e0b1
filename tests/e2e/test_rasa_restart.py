"""A restart of the rasa server in the middle of a repair report loses nothing the customer said:
the new process reads the conversation back (connectors/tracker_store.py writes it through to
`conversations.sqlite3` under POWERDESK_VAR_DIR), the form goes on from the question it had
asked, and the report ends in a ticket for the account given before the restart."""

from __future__ import annotations

import httpx

from tests.conftest import LiveStack
from tests.e2e.test_walking_skeleton import TICKET_NO, say

SENDER = "rest_restart_customer"  # not bound: the form has to ask for the account
ACCOUNT = "3100000005"  # seeded: 青山县宏达机械厂, no outage, no open ticket


def tracker(live: LiveStack) -> dict:
    params = {"token": live.env["RASA_API_TOKEN"]} if live.env.get("RASA_API_TOKEN") else {}
    answer = httpx.get(f"{live.rasa_url}/conversations/{SENDER}/tracker", params=params, timeout=10)
    answer.raise_for_status()
    return dict(answer.json())


def test_a_repair_report_goes_on_after_the_rasa_server_restarts(live_stack: LiveStack) -> None:
    assert say(live_stack, SENDER, "我家停电了")
    assert say(live_stack, SENDER, f"户号{ACCOUNT}")
    before = tracker(live_stack)
    assert before["active_loop"]["name"] == "repair_form"
    assert before["slots"]["report_account_no"] == ACCOUNT
    asked = before["slots"]["requested_slot"]

    live_stack.stack.stop_one("rasa")
    live_stack.stack.start_rasa(live_stack.ports["rasa"])

    after = tracker(live_stack)
    assert after["active_loop"]["name"] == "repair_form"
    assert after["slots"]["report_account_no"] == ACCOUNT and after["slots"]["requested_slot"] == asked
    transcript: list[str] = []
    for text in ("13800138005", "是的", "是的"):
        transcript += say(live_stack, SENDER, text)
        if TICKET_NO.search("\n".join(transcript)):
            break
    found = TICKET_NO.search("\n".join(transcript))
    assert found, "no ticket number after the restart:\n" + "\n".join(transcript)
    url = f"{live_stack.backend_url}/api/v1/tickets/{found.group(0)}"
    assert httpx.get(url, headers=live_stack.admin_headers, timeout=10).json()["account_no"] == ACCOUNT
    # Withdrawn again, so that the cell's workers carry the same tasks for the tests that follow.
    cancelled = httpx.post(
        f"{url}/events", json={"type": "cancel", "note": "测试结束"}, headers=live_stack.admin_headers, timeout=10
    )
    assert cancelled.status_code == 200, cancelled.text
