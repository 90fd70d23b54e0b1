"""The webhook's ack path for WeChat and WeCom, without rasa: shared by the channels inside the
rasa server and by the webhook gateway (bot_runtime/gateway.py) that acknowledges in front of it.

`CallbackGate.open` (signature, timestamp, AES safe mode, safe XML) → replayed nonce? ack →
queue the message under its dedup key (bot_runtime/inbound_queue.py; a duplicate is acked and
dropped) → answer `success`. Redis is the only thing touched, with a short timeout: when it cannot
take the message the answer is 503 and the platform retries, so only a queued message is acked.
Each callback is counted by its outcome (`powerdesk_inbound_messages`, bot_runtime/metrics.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot_runtime import metrics
from bot_runtime._rejections import RejectionMeter
from bot_runtime.inbound_queue import InboundQueue, QueueUnavailable
from platforms._xml import MAX_BODY_BYTES
from platforms.wechat.protocol import CallbackGate, Inbound, Quarantined, Rejected

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ack:
    status: int
    text: str
    #: the message newly queued, None when nothing is to be handled
    accepted: Inbound | None = None

    def http(self) -> HTTPResponse:
        return response.text(self.text, status=self.status)


SUCCESS = Ack(200, "success")
#: Redis did not take the message in time: the platform is to retry (WeChat does, three times)
UNAVAILABLE = Ack(503, "temporarily unavailable")
Receive = Callable[[dict[str, str], bytes], HTTPResponse]
Health = Callable[[], tuple[int, dict[str, object]]]


def acknowledge(
    gate: CallbackGate,
    queue: InboundQueue,
    channel: str,
    query: dict[str, str],
    body: bytes,
    meter: RejectionMeter | None = None,
) -> Ack:
    """Verify, dedup and queue one callback; what to answer, and the message if it is new."""
    try:
        return _acknowledge(gate, queue, channel, query, body, meter)
    except QueueUnavailable as exc:
        logger.error("ALERT %s callback answered 503 for the platform to retry: %s", channel, exc)
        metrics.MESSAGES_IN.labels(channel, "unavailable").inc()
        return UNAVAILABLE


def _acknowledge(
    gate: CallbackGate,
    queue: InboundQueue,
    channel: str,
    query: dict[str, str],
    body: bytes,
    meter: RejectionMeter | None,
) -> Ack:
    try:
        inbound = gate.open(query, body)
    except Rejected as exc:
        logger.warning("%s callback refused (%s): %s", channel, exc.status, exc.reason)
        if meter is not None:
            meter.refused(exc.reason)
        metrics.MESSAGES_IN.labels(channel, "refused").inc()
        return Ack(exc.status, exc.reason)
    except Quarantined as exc:
        logger.warning("%s signed but malformed callback quarantined: %s", channel, exc.reason)
        queue.quarantine(channel, exc.reason, body)
        metrics.MESSAGES_IN.labels(channel, "refused").inc()
        return SUCCESS
    if meter is not None:
        meter.accepted()
    if not queue.first_nonce(channel, inbound.nonce_key):
        logger.warning("%s replayed nonce acked, not processed", channel)
        metrics.MESSAGES_IN.labels(channel, "duplicate").inc()
        return SUCCESS
    if not queue.accept(inbound.key, channel, inbound.sender, inbound.fields):
        logger.info("%s duplicate %s acked, not processed", channel, inbound.key)
        metrics.MESSAGES_IN.labels(channel, "duplicate").inc()
        return SUCCESS
    metrics.MESSAGES_IN.labels(channel, "accepted").inc()
    return Ack(200, "success", inbound)


def webhook_blueprint(channel: str, gate: CallbackGate, receive: Receive, health: Health) -> Blueprint:
    """`GET /` readiness (`health()`), `GET /webhook` the platform's URL check, `POST /webhook`
    handed to `receive`."""
    hook = Blueprint(f"{channel}_webhook", __name__)

    @hook.get("/")
    async def ready(_: Request) -> HTTPResponse:
        status, body = health()
        return response.json(body, status=status)

    @hook.get("/webhook")
    async def verify(request: Request) -> HTTPResponse:
        try:
            echo = gate.echo(query_of(request))
        except Rejected as exc:
            logger.warning("%s URL check refused: %s", channel, exc.reason)
            return response.text(exc.reason, status=exc.status)
        return response.text(echo, content_type="text/plain")

    @hook.post("/webhook", stream=True)
    async def post(request: Request) -> HTTPResponse:
        body = await read_capped(request)
        if body is None:
            metrics.MESSAGES_IN.labels(channel, "refused").inc()
            return response.text("body too large", status=413)
        return receive(query_of(request), body)

    return hook


def query_of(request: Request) -> dict[str, str]:
    return {name: request.args.get(name, "") for name in request.args}


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body of a streamed request, or None as soon as it exceeds `limit` (nothing more is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            break
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
