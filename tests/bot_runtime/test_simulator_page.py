"""The demo page in headless Chromium (Debian's `chromium` + Playwright): a customer and a grid
worker side by side, talking to the real channels in the running rasa server (fixture bot)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest
from redis import Redis

from platforms.wechat.client import WeChatClient
from tests.bot_runtime.channel_stack import ChannelStack

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed")


@pytest.fixture
def page(live: ChannelStack) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page()
        tab.goto(live.simulator_url + "/")
        yield tab
        browser.close()


def test_customer_and_worker_chat_side_by_side_and_see_pushes(page, live: ChannelStack, redis_url: str) -> None:
    from playwright.sync_api import expect

    page.fill("#customer-id", "o_page_customer_01")
    page.fill("#customer-text", "我家停电了")
    page.click("#customer-form button[type=submit]")
    customer_log = page.locator("#customer-log")
    expect(customer_log.locator(".user")).to_have_text(["我家停电了"])
    expect(customer_log.locator(".bot")).to_contain_text(["已收到您的停电报修"], timeout=20_000)

    page.click("#customer-menu button[data-key=MENU_GRID_WORKER]")
    expect(customer_log.locator(".bot").nth(1)).to_contain_text("网格员", timeout=20_000)

    page.fill("#worker-id", "wg_page_worker_01")
    page.click("#worker [data-say='接单']")
    expect(page.locator("#worker-log .bot")).to_contain_text(["已确认接单"], timeout=20_000)

    # a push from the notifier (a template message) shows up in the customer's chat as it arrives
    s = live.settings
    client = WeChatClient(s.wechat_app_id, s.wechat_app_secret, live.simulator_url, Redis.from_url(redis_url))
    data = {"keyword1": "QX202611220001", "keyword2": "张师傅已接单"}
    client.send_template("o_page_customer_01", "tpl_ticket_accepted", data)
    expect(customer_log.locator(".push")).to_contain_text("QX202611220001", timeout=10_000)


def test_messages_are_shown_as_text_never_as_markup(page, live: ChannelStack) -> None:
    from playwright.sync_api import expect

    page.fill("#customer-id", "o_page_customer_02")
    page.fill("#customer-text", "<img src=x onerror=alert(1)>停电了")
    page.click("#customer-form button[type=submit]")
    expect(page.locator("#customer-log .user")).to_have_text(["<img src=x onerror=alert(1)>停电了"])
    assert page.locator("#customer-log img").count() == 0


def test_sms_pushes_to_a_demo_customer_show_in_the_chat(page, live: ChannelStack) -> None:
    from playwright.sync_api import expect

    from simulator.sms_gateway import GatewayState, SentSms

    page.select_option("#customer-select", "o_demo_resident_01")
    page.wait_for_timeout(1500)  # the page takes note of the SMS already there
    app_state = live.simulator_app.state
    if not hasattr(app_state, "sms_gateway"):
        app_state.sms_gateway = GatewayState()
    text = "【青山供电】工单QX202611220001已由赵磊接单，预计今天16:16前到达。"
    app_state.sms_gateway.sent.append(
        SentSms("aliyun", "13800138001", "ticket_accepted", {}, text, "out-1", "msg-1", time.time())
    )
    expect(page.locator("#customer-log .push")).to_contain_text("【短信】" + text, timeout=10_000)
