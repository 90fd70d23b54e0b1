"""Customer-service messages: the one policy the bot's replies and the notifier's pushes share,
against the simulator's WeChat API and a real Redis."""

from __future__ import annotations

import secrets
import time

import pytest

from platforms.wechat.client import WeChatClient
from platforms.wechat.customer_service import CustomerService
from platforms.wechat.errors import OutsideWindow, QuotaExceeded
from platforms.wechat.window import CustomerServiceWindow
from tests.platforms.conftest import Simulator


def make(simulator: Simulator, redis) -> CustomerService:
    s = simulator.settings
    client = WeChatClient(s.wechat_app_id, s.wechat_app_secret, simulator.url, redis)
    return CustomerService(client, CustomerServiceWindow(redis, f"{s.wechat_app_id}{secrets.token_hex(2)}"))


def sent(simulator: Simulator, openid: str) -> list[str]:
    records = simulator.state.records
    return [r["content"] for r in records if r["api"] == "custom_send" and r["errcode"] == 0 and r["to"] == openid]


def test_a_text_goes_out_while_the_window_has_a_slot_and_not_after(simulator: Simulator, redis) -> None:
    """Five messages in the 48 h window, then False without calling the platform (the caller's
    next way out takes the sixth)."""
    service, openid = make(simulator, redis), "o_cs_slots"
    simulator.state.user_acted(openid, by_message=True)
    service.window.opened(openid, by_message=True)
    assert all(service.send(openid, f"第{n}条") for n in range(1, 6))
    calls = len(simulator.state.records)
    assert service.send(openid, "第6条") is False
    assert len(simulator.state.records) == calls
    assert sent(simulator, openid) == [f"第{n}条" for n in range(1, 6)]


def test_nothing_is_sent_to_a_user_who_never_wrote(simulator: Simulator, redis) -> None:
    service = make(simulator, redis)
    assert service.send("o_cs_silent", "您好") is False
    assert sent(simulator, "o_cs_silent") == []


@pytest.mark.parametrize("refusal", [OutsideWindow, QuotaExceeded])
def test_the_platform_closing_the_window_closes_ours(simulator: Simulator, redis, refusal: type) -> None:
    """WeChat says the window is closed (45015) or its quota used (45047) although Redis thought a slot
    was left (a window opened on another official-account server): the error is raised for the
    caller's next way out, and the next send does not call the platform again."""
    service, openid = make(simulator, redis), f"o_cs_{refusal.__name__}"
    service.window.opened(openid, by_message=True)
    simulator.state.user_acted(openid, by_message=True)
    if refusal is OutsideWindow:
        simulator.state.windows[openid].expires = time.time() - 1
    else:
        simulator.state.windows[openid].quota = 0
    with pytest.raises(refusal):
        service.send(openid, "您好")
    calls = len(simulator.state.records)
    assert service.send(openid, "您好") is False
    assert len(simulator.state.records) == calls
