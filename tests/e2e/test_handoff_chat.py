"""A customer asks for a person in WeChat and gets one, through the whole stack (issue 20): the
real NLU and dialogue queue them with a real wait, what they write while waiting reaches the
agent's transcript and is acknowledged once, the agent (signed in, console stream open) claims and
answers, the answer arrives in the customer's WeChat through the notifier, the agent releases
with a summary, and the assistant answers the customer's next question itself.

What a waiting customer writes goes straight to the person, without a turn of the assistant
(bot_runtime/handoff_relay.py): it never reaches the Rasa tracker. What the assistant must read
itself (danger, "不用了") still takes its turn, and a hazard report made while waiting is taken,
then the wait goes on.

Agent and customer are the demo's: agent01 (林晓) and 张伟 (o_demo_resident_01, 3100000001)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.conftest import LiveStack
from tests.e2e.test_wechat_repair_flow import records, say, wait_for_text

CUSTOMER = "o_demo_resident_01"
AGENT = {"username": "agent01", "password": "demo-agent-01"}


class Agent:
    """agent01 signed in through the API, as the console does (session cookie and CSRF token)."""

    def __init__(self, live: LiveStack) -> None:
        self.api = f"{live.backend_url}/api/v1"
        signed = httpx.post(f"{self.api}/staff/sessions", json=AGENT, timeout=10)
        assert signed.status_code == 201, signed.text
        self.cookies = dict(signed.cookies)
        self.headers = {"X-CSRF-Token": signed.json()["csrf_token"]}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = httpx.request(
            method, f"{self.api}{path}", json=body, cookies=self.cookies, headers=self.headers, timeout=10
        )
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    @contextmanager
    def console_open(self) -> Iterator[None]:
        """The console's live stream, open as long as the agent is on duty (it records presence)."""
        stop = threading.Event()
        opened = threading.Event()

        def listen() -> None:
            url = f"{self.api}/console/stream"
            with httpx.stream("GET", url, params={"topics": "queue"}, cookies=self.cookies, timeout=None) as events:
                for _ in events.iter_lines():
                    opened.set()
                    if stop.is_set():
                        return

        reader = threading.Thread(target=listen, daemon=True)
        reader.start()
        assert opened.wait(15), "the console stream sent nothing"
        try:
            yield
        finally:
            stop.set()


def waiting_for(agent: Agent, sender_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for handoff in agent.call("GET", "/handoffs?status=waiting"):
            if handoff["sender_id"] == sender_id:
                return dict(handoff)
        time.sleep(0.3)
    raise AssertionError(f"{sender_id} never appeared in the queue")


def test_a_wechat_customer_asks_for_a_person_is_answered_by_one_then_by_the_assistant_again(
    live_stack: LiveStack,
) -> None:
    agent = Agent(live_stack)
    chat = f"/sim/wechat/users/{CUSTOMER}/send"
    since = say(live_stack, chat, "这个月电费多少")
    wait_for_text(live_stack, CUSTOMER, "电费", since)
    with agent.console_open():
        since = say(live_stack, chat, "我要转人工")
        queued = wait_for_text(live_stack, CUSTOMER, "排在第", since)
        assert "排在第1位" in queued["content"], "alone in the queue, the customer is told they are first"
        assert "人工客服会直接在这里回复您" in queued["content"]
        handoff = waiting_for(agent, CUSTOMER)
        try:
            talk_with_the_agent(live_stack, agent, handoff, chat)
        finally:
            leave_closed(live_stack, agent, handoff)

    since = say(live_stack, chat, "这个月电费多少")
    bill = wait_for_text(live_stack, CUSTOMER, "电费", since)
    assert "人工客服" not in bill["content"], "after the release the assistant answers again"
    final = agent.call("GET", f"/handoffs/{handoff['id']}")
    assert final["status"] not in ("waiting", "active")
    after = [line["text"] for line in final["transcript"]]
    assert after.count("这个月电费多少") == 1, "nothing after the release reached the agent"


def user_texts(live: LiveStack, sender: str) -> list[str]:
    """What the assistant's turns read of the sender (the user events of its Rasa tracker)."""
    answer = httpx.get(f"{live.rasa_url}/conversations/{sender}/tracker", headers=live.rasa_headers, timeout=10)
    answer.raise_for_status()
    return [str(e.get("text")) for e in answer.json()["events"] if e.get("event") == "user"]


def relayed(live: LiveStack) -> float:
    """The rasa server's count of WeChat messages passed straight to a person (its /metrics)."""
    scrape = httpx.get(f"{live.rasa_url}/metrics", timeout=10).text
    for line in scrape.splitlines():
        if line.startswith('powerdesk_handoff_relayed_total{channel="wechat"}'):
            return float(line.split()[-1])
    return 0.0


def test_a_hazard_written_while_waiting_is_taken_by_the_assistant_and_the_wait_goes_on(
    live_stack: LiveStack,
) -> None:
    """A passer-by waits for a person, reports a fallen wire meanwhile (the assistant takes it at
    once, asks where, files it), goes on waiting (messages pass to the person again, silently),
    then says "不用了" and is the assistant's again."""
    agent = Agent(live_stack)
    stranger = "o_e2e_waiting_hazard"
    relayed_before = relayed(live_stack)
    chat = f"/sim/wechat/users/{stranger}/send"
    with agent.console_open():
        since = say(live_stack, chat, "转人工")
        wait_for_text(live_stack, stranger, "排在第", since)
        handoff = waiting_for(agent, stranger)
        try:
            since = say(live_stack, chat, "人呢")
            wait_for_text(live_stack, stranger, "已转给人工客服", since)
            since = say(live_stack, chat, "有根电线断了垂下来了")
            wait_for_text(live_stack, stranger, "具体位置", since)
            since = len(records(live_stack))
            location = {"type": "location", "latitude": 28.71, "longitude": 115.82, "label": "青山县城关镇和平路口"}
            answer = httpx.post(f"{live_stack.simulator_url}{chat}", params={"wait": "true"}, json=location, timeout=30)
            assert answer.json()["answer"] == "success"
            filed = wait_for_text(live_stack, stranger, "紧急抢修工单", since)
            assert "人工客服马上就来" in filed["content"], "the wait resumes after the hazard"
            since = say(live_stack, chat, "好的，我在这等着")
            time.sleep(2)
            told = [r for r in records(live_stack, to=stranger, since=str(since)) if r.get("api") != "callback"]
            assert told == [], f"passed on silently once the wait goes on: {told}"
            since = say(live_stack, chat, "不用了")
            wait_for_text(live_stack, stranger, "已取消人工服务", since)
        finally:
            leave_closed(live_stack, agent, handoff)

    final = agent.call("GET", f"/handoffs/{handoff['id']}")
    assert final["status"] == "cancelled"
    passed = [line["text"] for line in final["transcript"] if line["from"] == "customer"]
    assert passed[-2:] == ["人呢", "好的，我在这等着"], final["transcript"]
    read = user_texts(live_stack, stranger)
    assert "有根电线断了垂下来了" in read and "不用了" in read, read
    assert "人呢" not in read and "好的，我在这等着" not in read, f"passed on without a turn: {read}"
    assert relayed(live_stack) - relayed_before == 2, "the rasa server counts what it passed straight on"


def talk_with_the_agent(live_stack: LiveStack, agent: Agent, handoff: dict[str, Any], chat: str) -> None:
    """While waiting the customer writes twice; the agent takes them, answers and hands them back."""
    since = say(live_stack, chat, "我家停电两天了，报修了一直没人来")
    wait_for_text(live_stack, CUSTOMER, "已转给人工客服", since)
    since = say(live_stack, chat, "人呢")
    time.sleep(2)
    told = [r for r in records(live_stack, to=CUSTOMER, since=str(since)) if r.get("api") != "callback"]
    assert told == [], f"the second message while waiting is passed on silently, not acknowledged again: {told}"

    detail = agent.call("POST", f"/handoffs/{handoff['id']}/claim", {"agent": AGENT["username"]})
    customer_lines = [line["text"] for line in detail["transcript"] if line["from"] == "customer"]
    # the agent reads what the customer typed, Chinese punctuation included (platforms/text.py)
    assert customer_lines[-2:] == ["我家停电两天了，报修了一直没人来", "人呢"], detail["transcript"]
    assert any("电费" in line["text"] for line in detail["transcript"] if line["from"] == "bot"), (
        "the bot's answers before"
    )
    read = user_texts(live_stack, CUSTOMER)
    assert "我要转人工" in read and "人呢" not in read, f"passed on without a turn of the assistant: {read}"

    since = len(records(live_stack))
    agent.call("POST", f"/handoffs/{handoff['id']}/messages", {"text": "您好，我是客服林晓，马上为您催办抢修。"})
    reply = wait_for_text(live_stack, CUSTOMER, "我是客服林晓", since)
    assert reply["platform"] == "wechat" and reply["errcode"] == 0

    since = len(records(live_stack))
    agent.call("POST", f"/handoffs/{handoff['id']}/release", {"summary": "已为您催办抢修"})
    back = wait_for_text(live_stack, CUSTOMER, "已为您催办抢修", since)
    assert "智能客服小电继续为您服务" in back["content"]


def leave_closed(live: LiveStack, agent: Agent, handoff: dict[str, Any]) -> None:
    """Whatever happened above, the customer is not left with a person for the tests that follow."""
    status = agent.call("GET", f"/handoffs/{handoff['id']}")["status"]
    if status == "waiting":
        url = f"{live.backend_url}/api/v1/handoffs/{handoff['id']}/cancel"
        httpx.post(url, headers=live.admin_headers, timeout=10).raise_for_status()
    elif status == "active":
        agent.call("POST", f"/handoffs/{handoff['id']}/close", {"summary": "测试结束"})
