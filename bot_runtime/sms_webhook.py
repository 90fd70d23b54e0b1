"""The SMS providers' callbacks, taken by the webhook gateway (bot_runtime/gateway.py), no rasa:

- `POST /webhooks/sms/webhook`: replies (上行短信), queued for the rasa servers's SMS channel;
- `POST /webhooks/sms/report`: delivery reports, queued for the forwarder (bot_runtime/sms_reports.py)
  that hands them to the backend.

The ack path, the same for both: source address in `SMS_ALLOWED_IPS` (when set) → the secret header
`X-Sms-Inbound-Token: <SMS_INBOUND_TOKEN>` (constant time; never a URL, where access logs keep it) →
a streamed body of at most 64 KB → the provider's format, item by item (a malformed item is
quarantined alone, the others are accepted) → each item queued under its dedup key
(bot_runtime/inbound_queue.py; a repeated push is acked and not processed again) → the provider's
acknowledgement, well inside Aliyun's 700 ms; a 503 when Redis cannot take them (the provider
pushes again). Refusals are a 4xx with a short reason that says nothing about the numbers.
Items are counted by outcome (`powerdesk_inbound_messages`: a push refused whole counts once).

Neither Aliyun nor Tencent signs these pushes. In production Aliyun's replies and reports are
better pulled from its MNS queue (no inbound endpoint at all); Tencent's are restricted to its
callback addresses (GetIPList) by `SMS_ALLOWED_IPS` or the reverse proxy, which also adds the
secret header. The simulator sends the header itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot_runtime import metrics
from bot_runtime._ack import Health, read_capped
from bot_runtime._rejections import RejectionMeter
from bot_runtime.inbound_queue import InboundQueue, QueueUnavailable
from platforms.settings import setting
from platforms.sms import protocol

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Sms-Inbound-Token"
MIN_TOKEN_CHARS = 16
REPLIES = "sms"
REPORTS = "sms_report"


@dataclass(frozen=True)
class SmsWebhookSettings:
    token: str
    allowlist: list[Any]

    @classmethod
    def load(cls) -> SmsWebhookSettings:
        token = setting(None, "SMS_INBOUND_TOKEN")
        if len(token) < MIN_TOKEN_CHARS:
            raise ValueError(f"SMS_INBOUND_TOKEN must be set (at least {MIN_TOKEN_CHARS} characters)")
        return cls(token, protocol.parse_allowlist(setting(None, "SMS_ALLOWED_IPS")))


def _refuse(status: int, reason: str) -> HTTPResponse:
    return response.json({"code": status, "msg": reason}, status=status)


def _receive(
    settings: SmsWebhookSettings,
    queue: InboundQueue,
    meter: RejectionMeter,
    channel: str,
    parse: Callable[[bytes], protocol.Batch[Any]],
    ip: str,
    token: str | None,
    body: bytes | None,
) -> HTTPResponse:
    """Check, parse and queue one push; the answer for the provider."""
    problem: tuple[int, str] | None = None
    if not protocol.ip_allowed(ip, settings.allowlist):
        problem = (403, "address not allowed")
    elif not protocol.token_matches(token, settings.token):
        problem = (401, "unauthorized")
    elif body is None:
        problem = (413, "body too large")
    if problem is not None:
        logger.warning("SMS %s push from %s refused: %s", channel, ip, problem[1])
        meter.refused(problem[1])
        metrics.MESSAGES_IN.labels(channel, "refused").inc()
        return _refuse(*problem)
    assert body is not None
    try:
        batch = parse(body)
    except protocol.MalformedSms as exc:
        logger.warning("SMS %s push from %s refused: %s", channel, ip, exc)
        meter.refused("malformed")
        queue.quarantine(channel, str(exc), body)
        metrics.MESSAGES_IN.labels(channel, "refused").inc()
        return _refuse(400, "bad request")
    for reason in batch.refused:
        logger.warning("SMS %s push from %s: %s refused, the rest accepted", channel, ip, reason)
        queue.quarantine(channel, reason, body)
    metrics.MESSAGES_IN.labels(channel, "refused").inc(len(batch.refused) or (0 if batch.accepted else 1))
    if not batch.accepted:
        meter.refused("malformed")
        return _refuse(400, "bad request")
    meter.accepted()
    for item in batch.accepted:
        try:
            accepted = queue.accept(item.key, channel, item.phone, item.payload())
        except QueueUnavailable as exc:  # what was queued before is dropped as a duplicate when pushed again
            logger.error("ALERT SMS %s push answered 503 for the provider to push again: %s", channel, exc)
            metrics.MESSAGES_IN.labels(channel, "unavailable").inc()
            return _refuse(503, "temporarily unavailable")
        if accepted:
            metrics.MESSAGES_IN.labels(channel, "accepted").inc()
        else:
            logger.info("SMS %s %s already received, acked again", channel, item.key)
            metrics.MESSAGES_IN.labels(channel, "duplicate").inc()
    return response.json(protocol.ack(batch.provider))


def sms_blueprint(settings: SmsWebhookSettings, queue: InboundQueue, health: Health) -> Blueprint:
    hook = Blueprint("sms_gateway", url_prefix="/webhooks/sms")
    meters = {REPLIES: RejectionMeter("sms"), REPORTS: RejectionMeter("sms delivery reports")}

    @hook.get("/")
    async def ready(_: Request) -> HTTPResponse:
        status, body = health()
        return response.json(body, status=status)

    async def take(request: Request, channel: str, parse: Callable[[bytes], protocol.Batch[Any]]) -> HTTPResponse:
        token = request.headers.get(TOKEN_HEADER)
        authorised = protocol.ip_allowed(request.ip, settings.allowlist) and protocol.token_matches(
            token, settings.token
        )
        body = await read_capped(request, protocol.MAX_BODY_BYTES) if authorised else b""
        return _receive(settings, queue, meters[channel], channel, parse, request.ip, token, body)

    @hook.post("/webhook", stream=True)
    async def replies(request: Request) -> HTTPResponse:
        return await take(request, REPLIES, protocol.parse)

    @hook.post("/report", stream=True)
    async def reports(request: Request) -> HTTPResponse:
        return await take(request, REPORTS, protocol.parse_reports)

    return hook
