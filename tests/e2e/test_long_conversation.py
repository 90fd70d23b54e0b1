"""A long conversation stays short in the tracker store and still works: after 30 questions the
customer reports an outage through the repair form and gets a ticket (the compacting tracker store
of bot_runtime/tracker_store.py, running in the real rasa server); its full transcript in Redis
keeps every line, from the first question."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import redis

from tests.conftest import LiveStack
from tests.e2e.test_walking_skeleton import CONVERSATION, TICKET_NO, say

SENDER = "o_demo_resident_03"  # seeded: 3100000003, bound, no outage now
QUESTIONS = ["这个月电费多少", "怎么交电费", "你好", "我的网格员是谁", "谢谢"]
ENDPOINTS = Path(__file__).resolve().parents[2] / "bot" / "endpoints.yml"
KEEP_TURNS = int(re.search(r"^\s+keep_turns: (\d+)$", ENDPOINTS.read_text(), re.MULTILINE)[1])


def test_a_long_conversation_is_compacted_and_the_repair_form_still_works(live_stack: LiveStack) -> None:
    for n in range(30):
        assert say(live_stack, SENDER, QUESTIONS[n % len(QUESTIONS)]), f"no reply to turn {n + 1}"
    transcript: list[str] = []
    for text in CONVERSATION:
        transcript += say(live_stack, SENDER, text)
    assert TICKET_NO.search("\n".join(transcript)), "no ticket number in the replies:\n" + "\n".join(transcript)

    url = f"{live_stack.rasa_url}/conversations/{SENDER}/tracker"
    tracker = httpx.get(url, headers=live_stack.rasa_headers, timeout=10).json()
    user_turns = [e for e in tracker["events"] if e["event"] == "user"]
    assert KEEP_TURNS <= len(user_turns) <= 2 * KEEP_TURNS  # 34 turns said, at most 2 x keep_turns kept
    identity = tracker["slots"]["conversation"]["identity"]
    assert identity["kind"] == "customer"  # who is talking survives the compaction (dialogue/state.py)

    stored = redis.Redis.from_url(live_stack.env["REDIS_URL"]).lrange(
        f"{live_stack.env['POWERDESK_NAMESPACE']}:transcript:{SENDER}", 0, -1
    )
    lines = [json.loads(line) for line in stored]
    said = [line["text"] for line in lines if line["who"] == "customer"]
    expected = [QUESTIONS[n % len(QUESTIONS)] for n in range(30)] + list(CONVERSATION)
    assert said[-len(expected) :] == expected  # after what this customer said in earlier tests
    assert sum(line["who"] == "assistant" for line in lines) >= 34  # at least one answer a turn
