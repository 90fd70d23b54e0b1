"""A restart of the rasa server in the middle of a repair report loses nothing the customer said:
the new process reads the conversation back from Redis (bot_runtime/tracker_store.py,
`pd:tracker:<sender>` on the stack's REDIS_URL), the report goes on from the question it had
asked, and ends in a ticket for the account given before the restart."""

from __future__ import annotations

import time

import httpx

from tests.conftest import LiveStack
from tests.e2e.test_walking_skeleton import TICKET_NO, say
from tests.e2e.test_wechat_repair_flow import records, wait_for_text
from tests.e2e.test_wechat_repair_flow import say as wechat_say

SENDER = "rest_restart_customer"  # not bound: the form has to ask for the account
ACCOUNT = "3100000005"  # seeded: 青山县宏达机械厂, no outage, no open ticket


def tracker(live: LiveStack) -> dict:
    answer = httpx.get(f"{live.rasa_url}/conversations/{SENDER}/tracker", headers=live.rasa_headers, timeout=10)
    answer.raise_for_status()
    return dict(answer.json())


def report_in_progress(live: LiveStack) -> dict:
    """The task on the table in the conversation's remembered state (dialogue/state.py)."""
    tasks = tracker(live)["slots"]["conversation"]["tasks"]
    assert tasks and tasks[-1]["name"] == "repair", tasks
    return dict(tasks[-1])


def test_a_repair_report_goes_on_after_the_rasa_server_restarts(live_stack: LiveStack) -> None:
    assert say(live_stack, SENDER, "我家停电了")
    assert say(live_stack, SENDER, f"户号{ACCOUNT}")
    before = report_in_progress(live_stack)
    assert before["account_no"] == ACCOUNT

    live_stack.stack.stop_one("rasa")
    live_stack.stack.start_rasa(live_stack.ports["rasa"])

    after = report_in_progress(live_stack)
    assert after["account_no"] == ACCOUNT and after["step"] == before["step"]
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


def test_a_wechat_message_acked_while_the_rasa_server_is_down_is_answered_when_it_is_back(
    live_stack: LiveStack,
) -> None:
    """The webhook gateway acknowledges WeChat on its own (bot_runtime/gateway.py): a message it
    took while the rasa server was stopped waits in the queue and is answered after the start."""
    openid = "o_gateway_restart_user"
    live_stack.stack.stop_one("rasa")
    try:
        since = wechat_say(live_stack, f"/sim/wechat/users/{openid}/send", "这个月电费多少")
        assert records(live_stack, to=openid, since=str(since), api="custom_send") == []
    finally:
        live_stack.stack.start_rasa(live_stack.ports["rasa"])
    assert wait_for_text(live_stack, openid, r"\S", since)


def test_the_gateway_refuses_a_forged_signature(live_stack: LiveStack) -> None:
    url = f"{live_stack.env['GATEWAY_URL']}/webhooks/wechat/webhook"
    query = {"timestamp": str(int(time.time())), "nonce": "2", "encrypt_type": "aes", "msg_signature": "0" * 40}
    answer = httpx.post(url, params=query, content=b"<xml><Encrypt><![CDATA[x]]></Encrypt></xml>", timeout=10)
    assert (answer.status_code, answer.text) == (403, "bad msg_signature")
