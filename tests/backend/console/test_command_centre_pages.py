"""The command centre's pages in headless Chromium (Debian's `chromium` + Playwright), against a real
backend on loopback with the test county seeded: a dispatcher signs in and lands on 调度监控, which
shows the open tickets, the feeder outage in the outage colour and the suspected fault in its own,
the workers' load, a push given up with its reason in plain Chinese, and follows a new repair ticket
live; 报表 shows the day's figures per grid cell, the weekly ranking, and downloads the workbook. The
charts' library (ECharts, 1 MB) is loaded once, when 调度监控 first opens: an agent's pages never ask
for it. Screenshots are kept under the test's tmp dir (their paths are printed)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.main import create_app
from backend.notifications import failures
from backend.notifications.models import OutboxMessage
from backend.outages import service as outages
from backend.outages.models import Outage
from backend.outages.schemas import OutageCreate
from tests.backend.conftest import TOKENS, County, bearer
from tests.backend.console.conftest import CHROMIUM
from tests.backend.test_standards import open_ticket
from tests.support.servers import serve

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed")

DISPATCHER = {"username": "dispatcher01", "name": "郑毅", "role": "dispatcher", "password": "demo-dispatcher-01"}
AGENT = {"username": "agent01", "name": "林晓", "role": "agent", "password": "demo-agent-01"}
ECHARTS = "/console/static/vendor/echarts/echarts.min.js"
OUTAGE_COLOUR = "#c53030"
SUSPECTED_COLOUR = "#dd6b20"
#: words of the API that must never reach the page's text
INTERNAL = re.compile(r"\b(received|dispatched|accepted|arrived|suspected|active|restored|arrival|restoration|"
                      r"reports|device|dispatcher|customer|worker|null|undefined|NaN|None|true|false|"
                      r"no reachable channel|unfollowed|opted_out)\b")  # fmt: skip


@dataclass
class Running:
    backend_url: str
    settings: Settings
    factory: sessionmaker[Session]
    shots: Path


@pytest.fixture
def running(db_url: str, session_factory: sessionmaker[Session], county: County, tmp_path: Path) -> Iterator[Running]:
    """The backend, with the county's three customers' repair tickets open (A1, A2 in C1; A3 in C2),
    a fault on feeder F1 (A1, A2 and A4) and a suspected fault on transformer T3, found by 研判."""
    settings = Settings(
        database_url=db_url, redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        handoff_hours_start=time(0), handoff_hours_end=time(0), console_stream_poll_seconds=0.3, **TOKENS,
    )  # fmt: skip
    for account in (county.a1, county.a2, county.a3):
        open_ticket(session_factory, settings, account)
    now = clock.now()
    with session_factory() as session, session.begin():
        for scope in ({"feeder_codes": ["F1"]}, {"transformer_codes": ["T3"]}):
            data = OutageCreate(
                kind="fault", cause="线路故障抢修中", starts_at=now - timedelta(minutes=20),
                estimated_restore_at=now + timedelta(hours=2), **scope,
            )  # fmt: skip
            outages.create_outage(session, data)
        session.execute(update(Outage).where(Outage.id == 2).values(status="suspected", source="reports"))
    with serve(create_app(settings)) as url:
        admin = bearer(TOKENS["powerdesk_admin_token"])
        httpx.post(f"{url}/api/v1/staff", json=DISPATCHER, headers=admin, timeout=10).raise_for_status()
        shots = tmp_path / "screenshots"
        shots.mkdir()
        yield Running(url, settings, session_factory, shots)


def shoot(page: Any, running: Running, name: str) -> None:
    path = running.shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def sign_in(page: Any, person: dict[str, str] = DISPATCHER) -> None:
    page.fill("#signin-username", person["username"])
    page.fill("#signin-password", person["password"])
    page.click("#signin-submit")


def wait_for_charts(page: Any) -> None:
    """Until the schematic is drawn: ECharts arrives after the page opens, the overview may come first."""
    page.wait_for_function(
        """() => {
          if (typeof echarts === "undefined") return false;
          const chart = echarts.getInstanceByDom(document.getElementById("live-grid-chart"));
          return chart !== undefined && chart.getOption().series.length > 0;
        }"""
    )


def grid_colours(page: Any) -> dict[str, str]:
    """The colour of each feeder and transformer in the schematic, as ECharts holds it."""
    return dict(
        page.evaluate(
            """() => {
              const chart = echarts.getInstanceByDom(document.getElementById("live-grid-chart"));
              const found = [];
              const walk = (node) => {
                found.push([node.name, node.itemStyle.color]);
                (node.children || []).forEach(walk);
              };
              chart.getOption().series[0].data[0].children.forEach(walk);
              return found;
            }"""
        )
    )


def test_a_dispatcher_watches_the_live_view_and_it_follows_a_new_report(
    running: Running, browser: Any, county: County
) -> None:
    from playwright.sync_api import expect

    with running.factory() as session, session.begin():  # a push the notifier gave up: WeChat unfollowed, no SMS
        why = failures.unreachable({"wechat_cs": "unfollowed", "wechat_template": "unfollowed", "sms": "opted_out"})
        session.execute(update(OutboxMessage).where(OutboxMessage.id == 1).values(status="dead", last_error=why))
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(running.backend_url + "/console/")
    assert page.evaluate("typeof echarts") == "undefined"  # the sign-in page does without it
    sign_in(page)
    expect(page.locator("#me")).to_have_text("郑毅（调度员）")
    expect(page.locator("#nav a.current")).to_have_text("调度监控")  # a dispatcher lands on the live view
    expect(page.locator("#live-open .value")).to_have_text("3", timeout=10_000)
    expect(page.locator("#live-outages .value")).to_have_text("1")
    expect(page.locator("#live-suspected .value")).to_have_text("1")
    expect(page.locator("#live-covered .value")).to_have_text("4")  # F1: A1, A2, A4; T3: A3

    outages_shown = page.locator("#live-outage-rows tr")
    expect(outages_shown).to_have_count(2)
    expect(outages_shown.nth(0)).to_contain_text("停电中")
    expect(outages_shown.nth(0)).to_contain_text("F1线（全线）")
    expect(outages_shown.nth(0)).to_contain_text("调度发布")
    expect(outages_shown.nth(1)).to_contain_text("疑似停电")
    expect(outages_shown.nth(1)).to_contain_text("T3台区")
    expect(outages_shown.nth(1)).to_contain_text("报修研判")
    summary = page.locator("#live-grid-summary")
    expect(summary).to_contain_text("停电中：F1线（全线）")
    expect(summary).to_contain_text("疑似停电：T3台区")
    wait_for_charts(page)
    colours = grid_colours(page)
    assert (colours["F1线"], colours["T1台区"], colours["T2台区"]) == (OUTAGE_COLOUR,) * 3
    assert colours["T3台区"] == SUSPECTED_COLOUR and colours["F2线"] not in (OUTAGE_COLOUR, SUSPECTED_COLOUR)

    cells = page.locator("#live-cell-rows tr")
    expect(cells.nth(0)).to_contain_text("城关一网格")
    expect(cells.nth(0).locator("td").nth(1)).to_have_text("2")
    dead = page.locator("#live-dead-rows tr")
    expect(dead).to_have_count(1)
    expect(dead.nth(0)).to_contain_text("用户已取消关注公众号；用户已退订短信")
    expect(page.locator("#live-dead .value")).to_have_text("1")
    workers = page.locator("#live-worker-rows")
    expect(workers).to_contain_text("网格员W1")
    expect(workers).to_contain_text("网格员S1（组长）")
    assert not INTERNAL.search(page.locator("#page").inner_text())
    shoot(page, running, "1-dispatch")

    # A new report arrives: the figures follow without a reload.
    open_ticket(running.factory, running.settings, county.a4)
    expect(page.locator("#live-open .value")).to_have_text("4", timeout=10_000)
    expect(cells.nth(0).locator("td").nth(1)).to_have_text("3")
    expect(page.locator("#live-storm")).to_contain_text("近1分钟报修")
    shoot(page, running, "2-dispatch-after-a-report")

    # To 报表 and back: the charts are drawn again from the library already loaded, not fetched twice.
    page.click("#nav a[data-page=reports]")
    expect(page.locator("#report-title")).to_contain_text("日监控", timeout=10_000)
    page.click("#nav a[data-page=dispatch]")
    expect(page.locator("#live-open .value")).to_have_text("4", timeout=10_000)
    wait_for_charts(page)
    assert grid_colours(page)["T3台区"] == SUSPECTED_COLOUR
    assert page.locator(f"script[src='{ECHARTS}']").count() == 1
    assert [url for url in requested if "echarts" in url] == [running.backend_url + ECHARTS]
    assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors


def test_a_dispatcher_reads_the_reports_and_downloads_the_workbook(running: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN", accept_downloads=True)
    page.goto(running.backend_url + "/console/#/reports")
    sign_in(page)
    expect(page.locator("#report-title")).to_contain_text("日监控", timeout=10_000)
    expected = httpx.get(  # what the API says for today, to compare the page with
        f"{running.backend_url}/api/v1/reports/daily",
        params={"date": clock.local_today().isoformat()},
        headers=bearer(TOKENS["powerdesk_admin_token"]),
    ).json()
    c1 = next(cell for cell in expected["grid_cells"] if cell["code"] == "C1")
    assert c1["received"] == 2
    row = page.locator("#report-cells tr[data-name='城关一网格'] td")
    expect(row.nth(0)).to_have_text("城关一网格")
    expect(row.nth(2)).to_have_text(str(c1["received"]))  # 网格, 县公司, 受理工单
    expect(page.locator("#report-overall .figure").first.locator(".value")).to_have_text("3")
    assert not INTERNAL.search(page.locator("#page").inner_text())
    shoot(page, running, "3-daily-report")

    with page.expect_download() as downloaded:
        page.click("#report-download")
    book = load_workbook(BytesIO(Path(downloaded.value.path()).read_bytes()))
    assert book.sheetnames[:4] == ["总体", "县公司", "网格", "网格员"]

    page.select_option("#report-kind", "weekly")
    expect(page.locator("#report-title")).to_contain_text("周通报")
    ranking = page.locator("#report-cell-ranking tbody tr")
    expect(ranking).to_have_count(2)
    expect(ranking.nth(0).locator("td").nth(0)).to_have_text("1")
    assert re.search(r"#/reports/weekly/\d{4}-W\d{2}$", page.url)
    shoot(page, running, "4-weekly-report")
    with page.expect_download() as downloaded:
        page.click("#report-download")
    assert "网格排名" in load_workbook(BytesIO(Path(downloaded.value.path()).read_bytes())).sheetnames


def test_an_agents_pages_never_load_the_charts(running: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    httpx.post(
        f"{running.backend_url}/api/v1/staff", json=AGENT, headers=bearer(TOKENS["powerdesk_admin_token"]), timeout=10
    ).raise_for_status()
    page = browser.new_page(locale="zh-CN")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(running.backend_url + "/console/")
    sign_in(page, AGENT)
    expect(page.locator("#me")).to_have_text("林晓（坐席）")
    expect(page.locator("#queue")).to_contain_text("暂无排队客户", timeout=10_000)
    expect(page.locator("#live-state")).to_have_text("● 实时")
    page.click("#nav a[data-page=callbacks]")
    expect(page.locator("#callback-rows")).to_contain_text("暂无待回电的客户", timeout=10_000)
    page.click("#nav a[data-page=conversations]")
    expect(page.locator("#queue")).to_be_visible()
    assert any(url.endswith("/pages/dispatch.js") for url in requested)  # the page's script is there, unused
    assert not [url for url in requested if "echarts" in url]
    assert page.evaluate("typeof echarts") == "undefined"
