"""The webhook gateway (bot_runtime/gateway.py) as a real bot-env process taking the SMS providers'
pushes: a header secret (never the URL), per-item acceptance of batches, body caps, delivery reports
handed to the backend even after it was down, the ALERT on a rising share of refused callbacks
(RELIABILITY rows 33-35, 51), and the callbacks counted in its `/metrics`."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis import Redis

from bot_runtime.inbound_queue import InboundQueue
from scripts.stack import BOT_BIN, Stack, base_env, free_port
from tests.support.scrape import scrape, value
from tests.support.servers import serve

TOKEN = "sms-inbound-test-token-0123456789"
HEADER = {"X-Sms-Inbound-Token": TOKEN}
ITEM = {"phone_number": "13800000002", "content": "停电了", "send_time": "2026-11-22 15:30:00", "dest_code": "1069"}
REPORT = {
    "phone_number": "13800000002", "send_time": "2026-11-22 15:30:00", "report_time": "2026-11-22 15:30:05",
    "success": False, "err_code": "MK:0001", "err_msg": "空号", "sms_size": "1", "biz_id": "77^1", "out_id": "pd7",
}  # fmt: skip


@dataclass
class Backend:
    reports: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    down: bool = False


@dataclass
class Gateway:
    url: str
    port: int
    log: Path
    backend: Backend
    #: the gateway's queue, in a namespace of its own
    queue: InboundQueue

    def queued(self, channel: str) -> list[str]:
        """The keys of the messages queued in `channel`, handled or not."""
        streams = [self.queue.stream(channel, p) for p in range(self.queue.partition_count)]
        return [row[1][b"key"].decode() for stream in streams for row in self.queue.redis.xrange(stream)]


def aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Gateway]:
    work = tmp_path_factory.mktemp("gateway")
    backend = Backend()
    app = FastAPI()

    @app.post("/api/v1/notifications/delivery-reports")
    async def reports(request: Request) -> JSONResponse:
        if backend.down:
            return JSONResponse({"code": "unavailable"}, status_code=503)
        backend.auth.append(request.headers.get("authorization", ""))
        backend.reports.extend((await request.json())["reports"])
        return JSONResponse({"applied": 1, "resent": 0, "unknown": 0})

    port = free_port()
    namespace = f"pdgw{port}"
    with serve(app) as backend_url:
        env = base_env({
            "WECHAT_APP_ID": "wx" + secrets.token_hex(8), "WECHAT_APP_SECRET": secrets.token_hex(16),
            "WECHAT_TOKEN": "tok", "WECHAT_AES_KEY": aes_key(), "WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "1",
            "WECOM_SECRET": "s", "WECOM_TOKEN": "t", "WECOM_AES_KEY": aes_key(), "SMS_INBOUND_TOKEN": TOKEN,
            "BACKEND_URL": backend_url, "POWERDESK_ACTIONS_TOKEN": "gateway-actions-token-0123",
            "REDIS_URL": redis_url, "POWERDESK_NAMESPACE": namespace,
        })  # fmt: skip
        stack = Stack(env, work / "log")
        try:
            stack.start("gateway", [str(BOT_BIN / "python"), "-m", "bot_runtime.gateway",
                                    "--port", str(port)], f"http://127.0.0.1:{port}/webhooks/sms/")  # fmt: skip
            queue = InboundQueue(Redis.from_url(redis_url), namespace_=namespace)
            yield Gateway(f"http://127.0.0.1:{port}", port, work / "log" / "gateway.log", backend, queue)
        finally:
            stack.stop()


def test_row33_a_batch_with_a_bad_item_is_acked_and_the_others_are_queued(gateway: Gateway) -> None:
    batch = [dict(ITEM, sequence_id=501), dict(ITEM, phone_number="12345", sequence_id=502),
             dict(ITEM, content="还是没电", sequence_id=503)]  # fmt: skip
    answer = httpx.post(f"{gateway.url}/webhooks/sms/webhook", json=batch, headers=HEADER, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "接收成功"}
    keys = set(gateway.queued("sms"))
    assert {"sms:aliyun:501", "sms:aliyun:503"} <= keys and "sms:aliyun:502" not in keys
    assert "item 1: bad phone number" in [reason for reason, _ in gateway.queue.quarantined("sms")]
    again = httpx.post(f"{gateway.url}/webhooks/sms/webhook", json=batch, headers=HEADER, timeout=5)
    assert again.status_code == 200
    assert sorted(k for k in gateway.queued("sms") if k in ("sms:aliyun:501", "sms:aliyun:503")) == [
        "sms:aliyun:501",
        "sms:aliyun:503",
    ]


def test_the_secret_is_taken_from_the_header_only_and_nothing_is_queued_without_it(gateway: Gateway) -> None:
    batch = [dict(ITEM, sequence_id=601)]
    url = f"{gateway.url}/webhooks/sms/webhook"
    assert httpx.post(url, json=batch, params={"token": TOKEN}, timeout=5).status_code == 401
    assert httpx.post(f"{url}/{TOKEN}", json=batch, timeout=5).status_code == 404
    refused = httpx.post(url, json=batch, headers={"X-Sms-Inbound-Token": "x" * 32}, timeout=5)
    assert refused.status_code == 401 and "13800000002" not in refused.text
    assert "sms:aliyun:601" not in gateway.queued("sms")
    big = b"[" + b" " * (70 * 1024) + b"]"
    assert httpx.post(url, content=big, headers=HEADER, timeout=5).status_code == 413
    assert httpx.post(url, content=b"not json", headers=HEADER, timeout=5).status_code == 400


def test_row35_delivery_reports_reach_the_backend_even_after_it_was_down(gateway: Gateway) -> None:
    gateway.backend.down = True
    url = f"{gateway.url}/webhooks/sms/report"
    first = httpx.post(url, json=[REPORT, dict(REPORT, biz_id="")], headers=HEADER, timeout=5)
    assert first.status_code == 200 and first.json() == {"code": 0, "msg": "接收成功"}
    assert httpx.post(url, json=[REPORT], headers=HEADER, timeout=5).status_code == 200  # repeated by the provider
    time.sleep(2.5)
    assert gateway.backend.reports == []
    gateway.backend.down = False
    deadline = time.monotonic() + 20
    while not gateway.backend.reports and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gateway.backend.reports == [{"provider": "aliyun", "phone": "13800000002", "msg_id": "77^1",
                                        "out_id": "pd7", "delivered": False, "code": "MK:0001"}]  # fmt: skip
    assert gateway.backend.auth == ["Bearer gateway-actions-token-0123"]


def test_row51_a_rising_share_of_refused_callbacks_raises_one_alert(gateway: Gateway) -> None:
    url = f"{gateway.url}/webhooks/sms/webhook"
    for _ in range(25):
        httpx.post(url, json=[dict(ITEM, sequence_id=701)], headers={"X-Sms-Inbound-Token": "wrong"}, timeout=5)
    alerts = [line for line in gateway.log.read_text().splitlines() if "ALERT sms:" in line]
    assert len(alerts) == 1 and "unauthorized" in alerts[0]


def test_it_listens_on_loopback_only(gateway: Gateway) -> None:
    listening = {
        c.laddr.ip for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == gateway.port
    }
    assert listening == {"127.0.0.1"}


def test_callbacks_are_counted_by_outcome_and_timed_and_the_queue_depth_is_read_at_each_scrape(
    gateway: Gateway,
) -> None:
    """`/metrics` (open: loopback only): one new reply, the provider's repeat of it and a refused push
    are one of each outcome; every acknowledgement is timed; the queue depth is the queue's."""
    before = scrape(gateway.url)
    url = f"{gateway.url}/webhooks/sms/webhook"
    push = [dict(ITEM, sequence_id=801)]
    assert httpx.post(url, json=push, headers=HEADER, timeout=5).status_code == 200
    assert httpx.post(url, json=push, headers=HEADER, timeout=5).status_code == 200
    assert httpx.post(url, json=push, headers={"X-Sms-Inbound-Token": "x" * 32}, timeout=5).status_code == 401
    after = scrape(gateway.url)
    for outcome in ("accepted", "duplicate", "refused"):
        counted = "powerdesk_inbound_messages_total"
        assert (
            value(after, counted, channel="sms", outcome=outcome)
            == value(before, counted, channel="sms", outcome=outcome) + 1
        ), outcome
    timed = "powerdesk_ack_duration_seconds_count"
    assert value(after, timed, channel="sms") == value(before, timed, channel="sms") + 3
    pending = len(gateway.queued("sms"))  # no rasa server here: none is handled
    assert pending >= 1 and value(after, "powerdesk_inbound_queue_depth", channel="sms") == pending
    depth = {
        dict(labels)["channel"]: v for (name, labels), v in after.items() if name == "powerdesk_inbound_queue_depth"
    }
    assert depth.keys() == {"wechat", "wecom", "sms", "sms_report"} and depth["wecom"] == 0
