"""The webhook gateway: `python -m bot_runtime.gateway [--host H] [--port P]` (bot env, default :5006).

WeChat and WeCom wait at most 5 s for a callback's answer and retry otherwise; Aliyun waits 700 ms.
Inside a rasa server an acknowledgement shares the cores and one interpreter lock with the turns,
so under load its answer waits for theirs. These small processes (as many as the proxy in front
spreads the platforms over; they share nothing but Redis) are the only ones the platforms reach:

- `/webhooks/wechat/webhook`, `/webhooks/wecom/webhook`: verified, decrypted, deduplicated and
  queued exactly as the channels do (bot_runtime/_ack.py), answered `success`;
- `/webhooks/sms/webhook` (replies) and `/webhooks/sms/report` (delivery reports): the providers'
  pushes behind a secret header, queued item by item (bot_runtime/sms_webhook.py).

The rasa servers consume the queue (Redis Streams, bot_runtime/inbound_queue.py) and hold the
conversations; a message acked here is durable: if every rasa server is down, it is handled when
one starts. A Redis that cannot take a message makes the answer a 503, and the platform retries.
Delivery reports are handed to the backend from here (bot_runtime/sms_reports.py). A rising share of
refused callbacks raises an ALERT (bot_runtime/_rejections.py). Every body is capped before anything
else is read. `GET /webhooks/<channel>/` is the readiness check: 503 with the reason while Redis
cannot be reached.

`GET /metrics` (Prometheus, not authenticated: loopback only) counts the callbacks by channel and
outcome, times each acknowledgement, and reads the queue's depth (bot_runtime/metrics.py).

Settings are the channels' own (WECHAT_*, WECOM_*, SMS_INBOUND_TOKEN, SMS_ALLOWED_IPS, BACKEND_URL,
POWERDESK_ACTIONS_TOKEN; see .env.example); no rasa import.
"""

from __future__ import annotations

import argparse
import logging
import time
from functools import partial

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot_runtime import metrics
from bot_runtime._ack import acknowledge, webhook_blueprint
from bot_runtime._rejections import RejectionMeter
from bot_runtime.inbound_queue import InboundQueue
from bot_runtime.sms_reports import REPORTS_TIMEOUT_SECONDS, ReportForwarder
from bot_runtime.sms_webhook import REPLIES, REPORTS, SmsWebhookSettings, sms_blueprint
from clients.backend import BackendClient
from platforms import log_masking
from platforms.settings import required, setting
from platforms.wechat.protocol import CallbackGate
from platforms.wechat.settings import WeChatSettings
from platforms.wecom.settings import WeComSettings

DEFAULT_PORT = 5006
#: the largest body any route reads (the platforms' callbacks are capped lower, at 64 KB)
MAX_BODY_BYTES = 256 * 1024
#: the callbacks whose acknowledgement is timed, by the queue channel they feed
ACK_ROUTES = {
    "/webhooks/wechat/webhook": "wechat",
    "/webhooks/wecom/webhook": "wecom",
    "/webhooks/sms/webhook": REPLIES,
    "/webhooks/sms/report": REPORTS,
}


def _receive(
    gate: CallbackGate, queue: InboundQueue, channel: str, meter: RejectionMeter, query: dict[str, str], body: bytes
) -> HTTPResponse:
    return acknowledge(gate, queue, channel, query, body, meter).http()


def create_app() -> Sanic:
    queue = InboundQueue()
    app = Sanic("powerdesk_gateway")
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES

    def health() -> tuple[int, dict[str, object]]:
        problem = queue.unreachable()
        return (503, {"status": "unavailable", "reason": problem}) if problem else (200, {"status": "ok"})

    for channel, gate in (("wechat", WeChatSettings.load().gate()), ("wecom", WeComSettings.load().gate())):
        receive = partial(_receive, gate, queue, channel, RejectionMeter(channel))
        app.blueprint(webhook_blueprint(channel, gate, receive, health), url_prefix=f"/webhooks/{channel}")
    app.blueprint(sms_blueprint(SmsWebhookSettings.load(), queue, health))
    backend_url, token = (
        setting(None, "BACKEND_URL", "http://127.0.0.1:8000"),
        required(None, "POWERDESK_ACTIONS_TOKEN"),
    )
    forwarder = ReportForwarder(InboundQueue(), BackendClient(backend_url, token, timeout=REPORTS_TIMEOUT_SECONDS))
    depth = metrics.QueueDepth(queue, ACK_ROUTES.values())

    @app.get("/metrics")
    async def scrape(_: Request) -> HTTPResponse:
        body, content_type = metrics.exposition(depth)
        return response.raw(body, content_type=content_type)

    @app.on_request
    async def clock_in(request: Request) -> None:
        request.ctx.started = time.perf_counter()

    @app.on_response
    async def clock_out(request: Request, _: HTTPResponse) -> None:
        channel = ACK_ROUTES.get(request.path)
        if channel is not None and request.method == "POST" and hasattr(request.ctx, "started"):
            metrics.ACK_SECONDS.labels(channel).observe(time.perf_counter() - request.ctx.started)

    @app.listener("after_server_start")
    async def start(app: Sanic, _: object) -> None:
        app.add_task(forwarder.run())

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="PowerDesk webhook gateway (WeChat, WeCom)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_masking.install()
    create_app().run(host=args.host, port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
