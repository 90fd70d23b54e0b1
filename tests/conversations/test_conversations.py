"""The conversation suite (tests/conversations/*.yml) through the WeChat channel of a running stack:
every conversation must reach its outcome, turn by turn (tests/conversations/suite.py)."""

from __future__ import annotations

import pytest

from tests.conftest import LiveStack
from tests.conversations.suite import Result, Stack, load_suite, play_all, report

CONVERSATIONS = load_suite()


@pytest.fixture(scope="module")
def results(live_stack: LiveStack) -> dict[str, Result]:
    played = play_all(speaker(live_stack), CONVERSATIONS)
    print(report(played))
    return {r.conversation.name: r for r in played}


def speaker(live: LiveStack) -> Stack:
    return Stack(live.backend_url, live.simulator_url, live.env["POWERDESK_ADMIN_TOKEN"])


@pytest.mark.parametrize("name", [c.name for c in CONVERSATIONS])
def test_conversation(results: dict[str, Result], name: str) -> None:
    result = results[name]
    transcript = "\n".join(f"客户: {said}\n小电: {reply}" for said, reply in result.transcript)
    assert result.ok, "\n".join(result.problems) + "\n" + transcript
