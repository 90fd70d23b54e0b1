"""The staff console in headless Chromium (Debian's `chromium` + Playwright), against a real backend,
notifier and simulator on loopback: an agent signs in, sees a customer handed over by the assistant
appear live, opens the conversation, replies, and the customer sees the reply on the simulator's
page; an expired session goes to the sign-in and keeps the draft; nothing a customer typed becomes
markup. Screenshots are kept under the test's tmp dir (their paths are printed)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from redis import Redis
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.main import create_app
from backend.staff.models import StaffSession
from platforms.wechat.window import CustomerServiceWindow
from tests.backend.conftest import TOKENS, bearer
from tests.backend.console.conftest import CHROMIUM
from tests.notifier.harness import Simulator, make_notifier, notifier_settings, simulator
from tests.support.servers import serve

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed")

OPENID = "o_console_customer_01"
AGENT = {"username": "agent01", "name": "林晓", "role": "agent", "password": "demo-agent-01"}


@dataclass
class Running:
    backend_url: str
    simulator: Simulator
    settings: Settings
    factory: sessionmaker[Session]
    shots: Path

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.backend_url}/api/v1{path}", timeout=10, **kwargs)


def webhook_gateway() -> FastAPI:
    """Stands in for the webhook gateway: acknowledges the customer's messages (the assistant's
    side of the chat is not under test here)."""
    app = FastAPI()

    @app.post("/webhooks/wechat/webhook")
    def ack() -> PlainTextResponse:
        return PlainTextResponse("success")

    return app


@pytest.fixture
def running(db_url: str, session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Running]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    settings = Settings(  # type: ignore[arg-type]
        database_url=db_url, redis_url=redis_url, handoff_hours_start=time(0), handoff_hours_end=time(0),
        console_stream_poll_seconds=0.3, **TOKENS,
    )  # fmt: skip
    with serve(webhook_gateway()) as gateway, simulator(rasa_url=gateway) as sim, serve(create_app(settings)) as url:
        notifier = make_notifier(session_factory, notifier_settings(db_url, redis_url, sim, notifier_poll_seconds=0.2))
        worker = threading.Thread(target=notifier.run_forever, daemon=True)
        worker.start()
        shots = tmp_path / "screenshots"
        shots.mkdir()
        yield Running(url, sim, settings, session_factory, shots)
        notifier.stop.set()
        worker.join(10)


def shoot(page: Any, running: Running, name: str) -> None:
    path = running.shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def sign_in(page: Any, password: str = AGENT["password"]) -> None:
    page.fill("#signin-username", AGENT["username"])
    page.fill("#signin-password", password)
    page.click("#signin-submit")


def test_an_agent_answers_a_customer_handed_over_live_and_the_customer_sees_it(running: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    admin = bearer(TOKENS["powerdesk_admin_token"])
    running.api("POST", "/staff", json=AGENT, headers=admin).raise_for_status()

    console = browser.new_page()
    console.goto(running.backend_url + "/console/")
    expect(console.locator("#signin")).to_be_visible()
    sign_in(console)
    expect(console.locator("#me")).to_have_text("林晓（坐席）")
    expect(console.locator("#queue")).to_contain_text("暂无排队客户")
    expect(console.locator("#live-state")).to_have_text("● 实时")

    # The customer writes in WeChat (the simulator's page); the channel opens the customer-service window.
    phone = browser.new_page()
    phone.goto(running.simulator.url + "/")
    phone.fill("#customer-id", OPENID)
    phone.fill("#customer-text", "我要找人工客服")
    phone.click("#customer-form button[type=submit]")
    expect(phone.locator("#customer-log .user")).to_have_text(["我要找人工客服"])
    CustomerServiceWindow(Redis.from_url(running.settings.redis_url), running.simulator.settings.wechat_app_id).opened(
        OPENID, by_message=True
    )
    # ... and the assistant hands the conversation over, as the bot will.
    transcript = [
        {"from": "customer", "text": "我家停电了", "at": "2026-11-22T10:00:00+08:00"},
        {"from": "bot", "text": "请问您的户号是多少？", "at": "2026-11-22T10:00:02+08:00"},
        {"from": "customer", "text": "我要找人工客服", "at": "2026-11-22T10:00:30+08:00"},
    ]
    body = {"channel": "wechat", "sender_id": OPENID, "reason": "停电原因不清楚，要求人工", "transcript": transcript}
    actions = bearer(TOKENS["powerdesk_actions_token"])
    handoff = running.api("POST", "/handoffs", json=body, headers=actions).json()
    assert handoff["status"] == "waiting" and handoff["agents_online"] == 1

    item = console.locator(f"#queue .queue-item[data-id='{handoff['id']}']")
    expect(item).to_contain_text("停电原因不清楚，要求人工", timeout=10_000)  # live, no reload
    expect(item.locator(".wait")).to_contain_text("已等")
    assert console.title().startswith("(1) ")
    shoot(console, running, "1-queue")

    # A message while waiting, with markup in it: shown as text, never as an element.
    message = {"text": "<img src=x onerror=alert(1)>还要等多久", "at": "2026-11-22T10:01:00+08:00"}
    running.api("POST", f"/handoffs/{handoff['id']}/customer-messages", json=message, headers=actions)
    item.click()
    transcript_box = console.locator("#transcript")
    expect(transcript_box.locator(".line.bot")).to_contain_text(["请问您的户号是多少？"])
    expect(transcript_box.locator(".line.customer").last).to_contain_text("<img src=x onerror=alert(1)>还要等多久")
    assert transcript_box.locator("img").count() == 0

    console.click("#conversation-actions button[data-action='接入']")
    expect(console.locator("#conversation-status")).to_contain_text("接待中 · 林晓")
    reply = "您好，我是人工客服林晓。您所在台区正在检修，预计今天下午三点恢复供电。"
    console.fill("#reply-text", reply)
    console.click("#reply-send")
    agent_line = transcript_box.locator(".line.agent").last
    expect(agent_line).to_contain_text(reply)
    expect(agent_line.locator(".delivery")).to_have_text("已送达（微信客服消息）", timeout=15_000)
    shoot(console, running, "2-conversation")

    expect(phone.locator("#customer-log .bot")).to_contain_text([f"人工客服林晓：{reply}"], timeout=10_000)
    shoot(phone, running, "3-customer-sees-the-reply")

    # The session expires while a reply is being written: the sign-in shows, the draft stays.
    console.fill("#reply-text", "请问还有其他可以帮您的吗？")
    with running.factory() as session, session.begin():
        session.execute(update(StaffSession).values(last_active_at=clock.now() - timedelta(hours=3)))
    expect(console.locator("#signin")).to_be_visible(timeout=10_000)
    expect(console.locator("#signin-note")).to_contain_text("未发送的回复已为您保留")
    shoot(console, running, "4-session-expired")
    sign_in(console)
    expect(console.locator("#signin")).to_be_hidden()
    expect(console.locator("#reply-text")).to_have_value("请问还有其他可以帮您的吗？")
    console.click("#reply-send")
    expect(transcript_box.locator(".line.agent")).to_have_count(2)
    expect(console.locator("#reply-text")).to_have_value("")
    expect(phone.locator("#customer-log .bot")).to_have_count(2, timeout=10_000)
    shoot(console, running, "5-after-sign-in")


def test_the_supervisor_sees_agents_and_waits_and_callbacks_are_worked_off_live(running: Running, browser: Any) -> None:
    """值班监控 shows who is online, what each holds and how long customers wait; 回电任务 shows a
    callback the assistant promised as soon as it is made, and an agent marks it done."""
    from playwright.sync_api import expect

    admin = bearer(TOKENS["powerdesk_admin_token"])
    running.api("POST", "/staff", json=AGENT, headers=admin).raise_for_status()
    supervisor = AGENT | {"username": "supervisor01", "name": "吴倩", "role": "supervisor"}
    running.api("POST", "/staff", json=supervisor, headers=admin).raise_for_status()

    agent_page = browser.new_page()
    agent_page.goto(running.backend_url + "/console/#/callbacks")
    sign_in(agent_page)
    expect(agent_page.locator("#callback-rows")).to_contain_text("暂无待回电的客户")

    watch = browser.new_page()
    watch.goto(running.backend_url + "/console/#/supervision")
    watch.fill("#signin-username", "supervisor01")
    watch.fill("#signin-password", AGENT["password"])
    watch.click("#signin-submit")
    rows = watch.locator("#agent-rows")
    expect(rows).to_contain_text("林晓")
    expect(rows).to_contain_text("吴倩")
    actions = bearer(TOKENS["powerdesk_actions_token"])
    running.api("POST", "/handoffs", json={"channel": "sms", "sender_id": "13800000009"}, headers=actions)
    expect(watch.locator(".figure").nth(1)).to_contain_text("1", timeout=10_000)  # 排队客户
    expect(watch.locator(".page-scroll .note")).to_contain_text("排队等待：", timeout=10_000)
    shoot(watch, running, "6-supervision")

    callback = {"channel": "sms", "sender_id": "13800000009", "phone": "13800000009", "reason": "无人接听时请回电"}
    running.api("POST", "/callbacks", json=callback, headers=actions).raise_for_status()
    expect(agent_page.locator("#callback-rows")).to_contain_text("无人接听时请回电", timeout=10_000)
    agent_page.click("#callback-rows button")
    agent_page.fill("dialog textarea[name=note]", "已电话联系客户，问题已解答")
    agent_page.click("dialog button[type=submit]")
    expect(agent_page.locator("#callback-rows")).to_contain_text("暂无待回电的客户", timeout=10_000)
    shoot(agent_page, running, "7-callbacks")
