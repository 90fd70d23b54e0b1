"""Fake Aliyun and Tencent SMS gateways for the platform simulator.

Point `SMS_API_BASE_URL` at the simulator: both official SDKs POST to `/`, Aliyun with the
`x-acs-action` header and its parameters in the query string, Tencent with `X-TC-Action` and a
JSON body. The gateway renders the approved template (the keys of
`backend.notifications.templates`), applies the providers' per-phone limits and error codes, and
records every accepted message. Like the providers, it then reports each message's delivery to
the webhook gateway (`/webhooks/sms/report`: Aliyun SmsReport, Tencent status callback); a number
set undeliverable gets a failed report. Steering under `/sim/sms`: the record, scripted faults,
undeliverable numbers, and a phone that replies (上行) in the provider's own format. Pushes carry
the secret header `X-Sms-Inbound-Token` (SMS_INBOUND_TOKEN), as the reverse proxy adds it in production.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import aiohttp
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend.notifications.templates import TEMPLATES

router = APIRouter()

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
ALIYUN_PER_DAY = 50
TENCENT_PER_DAY = 10
TENCENT_SAME_CONTENT_SECONDS = 30
_MOBILE_DIGITS = 11
#: how long after its acceptance a message's delivery is reported
REPORT_DELAY_SECONDS = 0.2


@dataclass
class SentSms:
    provider: str
    phone: str
    template: str
    params: dict[str, str]
    text: str
    out_id: str
    msg_id: str
    at: float


@dataclass
class SmsFault:
    """`fail`: HTTP 503; `code`: answer this provider error code; `slow`: wait `delay` s first."""

    mode: Literal["none", "fail", "code", "slow"] = "none"
    code: str = ""
    delay: float = 0.0
    count: int | None = None

    def take(self) -> SmsFault | None:
        if self.mode == "none":
            return None
        if self.count is not None:
            if self.count <= 0:
                return None
            self.count -= 1
        return SmsFault(self.mode, self.code, self.delay)


@dataclass
class GatewayState:
    sent: list[SentSms] = field(default_factory=list)
    #: numbers whose messages are accepted but never arrive (a failed delivery report follows)
    undeliverable: set[str] = field(default_factory=set)
    #: delivery reports pushed: (provider, msg_id, delivered, HTTP status or None)
    reports: list[tuple[str, str, bool, int | None]] = field(default_factory=list)
    #: every submission the gateway saw, accepted or refused: (provider, phone, outcome)
    attempts: list[tuple[str, str, str]] = field(default_factory=list)
    blacklist: set[str] = field(default_factory=set)
    fault: SmsFault = field(default_factory=SmsFault)
    _history: dict[str, list[tuple[float, str]]] = field(default_factory=lambda: defaultdict(list))
    _sequence: int = 0

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence


def gateway(request: Request) -> GatewayState:
    app_state = request.app.state
    if not hasattr(app_state, "sms_gateway"):
        app_state.sms_gateway = GatewayState()
    state: GatewayState = app_state.sms_gateway
    return state


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


def _render(template: str, params: dict[str, str]) -> str:
    known = TEMPLATES.get(template)
    if known is None:
        raise Refused("template", f"模板{template}不存在或未审核通过")
    missing = [name for name in known.params if f"{{{name}}}" in known.sms and name not in params]
    if missing:
        raise Refused("params", f"缺少模板变量{','.join(missing)}")
    return known.sms.format(**{name: params.get(name, "") for name in known.params})


def _check_limits(state: GatewayState, provider: str, phone: str, template: str, text: str, now: float) -> None:
    history = state._history[f"{provider}:{phone}"]
    if provider == "aliyun":
        same_template = [t for t, tpl in history if tpl == template and t > now - 24 * 3600]
        if len(same_template) >= ALIYUN_PER_DAY:
            raise Refused("limit", "触发天级流控Permits:50")
        return
    midnight = datetime.fromtimestamp(now, LOCAL_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    today = [t for t, _ in history if t >= midnight.timestamp()]
    if len(today) >= TENCENT_PER_DAY:
        raise Refused("daily", "单个手机号日下发条数超过设定的上限")
    digest = hashlib.sha1(text.encode()).hexdigest()
    if any(tpl == digest and t > now - TENCENT_SAME_CONTENT_SECONDS for t, tpl in state._history[f"same:{phone}"]):
        raise Refused("frequency", "30秒内相同内容下发超过上限")


def _accept(state: GatewayState, provider: str, phone: str, template: str, params: dict[str, str], out_id: str) -> str:
    if not (phone.isdigit() and len(phone) == _MOBILE_DIGITS and phone.startswith("1")):
        raise Refused("number", "手机号码格式错误")
    if provider == "tencent" and phone in state.blacklist:
        raise Refused("blacklist", "用户已退订")
    text = _render(template, params)
    now = time.time()
    _check_limits(state, provider, phone, template, text, now)
    state._history[f"{provider}:{phone}"].append((now, template))
    state._history[f"same:{phone}"].append((now, hashlib.sha1(text.encode()).hexdigest()))
    msg_id = f"{state.next_sequence()}^{secrets.randbelow(10**9)}"
    state.sent.append(SentSms(provider, phone, template, params, text, out_id, msg_id, now))
    return msg_id


_ALIYUN_CODES = {
    "template": "isv.SMS_TEMPLATE_ILLEGAL",
    "params": "isv.TEMPLATE_MISSING_PARAMETERS",
    "limit": "isv.BUSINESS_LIMIT_CONTROL",
    "number": "isv.MOBILE_NUMBER_ILLEGAL",
}
_TENCENT_CODES = {
    "template": "FailedOperation.TemplateIncorrectOrUnapproved",
    "params": "InvalidParameterValue.TemplateParameterFormatError",
    "daily": "LimitExceeded.PhoneNumberDailyLimit",
    "frequency": "LimitExceeded.DeliveryFrequencyLimit",
    "number": "InvalidParameterValue.IncorrectPhoneNumber",
    "blacklist": "FailedOperation.PhoneNumberInBlacklist",
}


def _aliyun(request: Request, state: GatewayState, fault: SmsFault | None) -> JSONResponse:
    request_id = secrets.token_hex(8).upper()
    if not request.headers.get("authorization", "").startswith("ACS3-HMAC-SHA256 Credential="):
        return JSONResponse({"Code": "SignatureDoesNotMatch", "Message": "未签名", "RequestId": request_id}, 400)
    if request.headers.get("x-acs-action") != "SendSms":
        return JSONResponse({"Code": "InvalidAction.NotFound", "RequestId": request_id}, 404)
    query = request.query_params
    phone = query.get("PhoneNumbers", "")
    if fault is not None and fault.mode == "code":
        state.attempts.append(("aliyun", phone, fault.code))
        return JSONResponse({"Code": fault.code, "Message": "模拟错误", "RequestId": request_id})
    try:
        params = json.loads(query.get("TemplateParam") or "{}")
        msg_id = _accept(state, "aliyun", phone, query.get("TemplateCode", ""), params, query.get("OutId", ""))
    except Refused as exc:
        state.attempts.append(("aliyun", phone, exc.code))
        return JSONResponse({"Code": _ALIYUN_CODES[exc.code], "Message": exc.message, "RequestId": request_id})
    except json.JSONDecodeError:
        return JSONResponse({"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法", "RequestId": request_id})
    state.attempts.append(("aliyun", phone, "OK"))
    return JSONResponse({"Code": "OK", "Message": "OK", "BizId": msg_id, "RequestId": request_id})


async def _tencent(request: Request, state: GatewayState, fault: SmsFault | None) -> JSONResponse:
    request_id = secrets.token_hex(16)
    if not request.headers.get("authorization", "").startswith("TC3-HMAC-SHA256 Credential="):
        error = {"Code": "AuthFailure.SignatureFailure", "Message": "签名错误"}
        return JSONResponse({"Response": {"Error": error, "RequestId": request_id}})
    body = await request.json()
    template = str(body.get("TemplateId", ""))
    known = TEMPLATES.get(template)
    values = [str(v) for v in body.get("TemplateParamSet") or []]
    params = dict(zip(known.params, values, strict=False)) if known else {}
    statuses = []
    for number in body.get("PhoneNumberSet") or []:
        phone = str(number).removeprefix("+86")
        base = {"PhoneNumber": str(number), "SessionContext": body.get("SessionContext", ""), "IsoCode": "CN"}
        if fault is not None and fault.mode == "code":
            state.attempts.append(("tencent", phone, fault.code))
            statuses.append(base | {"SerialNo": "", "Fee": 0, "Code": fault.code, "Message": "模拟错误"})
            continue
        try:
            msg_id = _accept(state, "tencent", phone, template, params, str(body.get("SessionContext", "")))
        except Refused as exc:
            state.attempts.append(("tencent", phone, exc.code))
            statuses.append(base | {"SerialNo": "", "Fee": 0, "Code": _TENCENT_CODES[exc.code], "Message": exc.message})
            continue
        state.attempts.append(("tencent", phone, "Ok"))
        fee = 1 if len(state.sent[-1].text) <= 64 else -(-len(state.sent[-1].text) // 67)
        statuses.append(base | {"SerialNo": msg_id, "Fee": fee, "Code": "Ok", "Message": "send success"})
    return JSONResponse({"Response": {"SendStatusSet": statuses, "RequestId": request_id}})


@router.post("/", include_in_schema=False)
async def send_api(request: Request) -> JSONResponse:
    """Both providers' SendSms, told apart by their action header."""
    state = gateway(request)
    fault = state.fault.take()
    if fault is not None and fault.mode == "slow":
        await asyncio.sleep(fault.delay)
    if fault is not None and fault.mode == "fail":
        return JSONResponse({"message": "simulated outage"}, status_code=503)
    if request.headers.get("x-tc-action") == "PullSmsSendStatusByPhoneNumber":
        return await _tencent_statuses(request, state)
    before = len(state.sent)
    if "x-tc-action" in request.headers:
        answer = await _tencent(request, state, fault)
    elif request.headers.get("x-acs-action") == "QuerySendDetails":
        return _aliyun_details(request, state)
    elif "x-acs-action" in request.headers:
        answer = _aliyun(request, state, fault)
    else:
        raise HTTPException(400, "not an SMS API call")
    for message in state.sent[before:]:
        task = asyncio.create_task(_report_delivery(request, state, message))
        request.app.state.tasks.add(task)
        task.add_done_callback(request.app.state.tasks.discard)
    return answer


def delivery_report(message: SentSms, delivered: bool) -> list[dict[str, Any]]:
    """The provider's report of one message: Aliyun SmsReport or Tencent status callback (arrays)."""
    moment = datetime.fromtimestamp(message.at, LOCAL_ZONE).strftime("%Y-%m-%d %H:%M:%S")
    if message.provider == "aliyun":
        return [
            {
                "phone_number": message.phone, "send_time": moment, "report_time": moment, "success": delivered,
                "err_code": "DELIVERED" if delivered else "MK:0001", "err_msg": "用户接收成功" if delivered else "空号",
                "sms_size": "1", "biz_id": message.msg_id, "out_id": message.out_id,
            }
        ]  # fmt: skip
    return [
        {
            "user_receive_time": moment, "nationcode": "86", "mobile": message.phone,
            "report_status": "SUCCESS" if delivered else "FAIL", "errmsg": "DELIVRD" if delivered else "MK:0001",
            "description": "用户短信送达成功" if delivered else "用户短信未送达", "sid": message.msg_id,
        }
    ]  # fmt: skip


def _inbound_url(request: Request, path: str) -> str:
    settings = request.app.state.settings
    return (settings.gateway_url or settings.rasa_url).rstrip("/") + path


def _inbound_headers() -> dict[str, str]:
    return {"X-Sms-Inbound-Token": os.environ.get("SMS_INBOUND_TOKEN", "")}


async def _report_delivery(request: Request, state: GatewayState, message: SentSms) -> None:
    await asyncio.sleep(REPORT_DELAY_SECONDS)
    delivered = message.phone not in state.undeliverable
    client: aiohttp.ClientSession = request.app.state.http
    url, body = _inbound_url(request, "/webhooks/sms/report"), delivery_report(message, delivered)
    try:
        async with client.post(url, json=body, headers=_inbound_headers(),
                               timeout=aiohttp.ClientTimeout(total=5.0)) as answer:  # fmt: skip
            status: int | None = answer.status
    except (aiohttp.ClientError, TimeoutError):
        status = None
    state.reports.append((message.provider, message.msg_id, delivered, status))


def _aliyun_details(request: Request, state: GatewayState) -> JSONResponse:
    """`QuerySendDetails`: what was sent to one number on one day (yyyyMMdd), paged."""
    query = request.query_params
    phone, day = query.get("PhoneNumber", ""), query.get("SendDate", "")
    size, page = int(query.get("PageSize") or 10), int(query.get("CurrentPage") or 1)
    matching = [
        m for m in state.sent
        if m.provider == "aliyun" and m.phone == phone
        and datetime.fromtimestamp(m.at, LOCAL_ZONE).strftime("%Y%m%d") == day
    ]  # fmt: skip
    shown = matching[(page - 1) * size : page * size]
    details = [
        {
            "PhoneNum": m.phone,
            "SendStatus": 3,
            "ErrCode": "DELIVERED",
            "TemplateCode": m.template,
            "Content": m.text,
            "SendDate": datetime.fromtimestamp(m.at, LOCAL_ZONE).strftime("%Y-%m-%d %H:%M:%S"),
            "OutId": m.out_id,
        }
        for m in shown
    ]
    answer = {
        "Code": "OK",
        "Message": "OK",
        "RequestId": secrets.token_hex(8).upper(),
        "TotalCount": len(matching),
    }
    return JSONResponse(answer | {"SmsSendDetailDTOs": {"SmsSendDetailDTO": details}})


async def _tencent_statuses(request: Request, state: GatewayState) -> JSONResponse:
    """`PullSmsSendStatusByPhoneNumber`: delivery receipts of one number since BeginTime."""
    body = await request.json()
    phone = str(body.get("PhoneNumber", "")).removeprefix("+86")
    begin, offset, limit = (
        int(body.get("BeginTime") or 0),
        int(body.get("Offset") or 0),
        int(body.get("Limit") or 100),
    )
    matching = [m for m in state.sent if m.provider == "tencent" and m.phone == phone and m.at >= begin]
    statuses = [
        {
            "UserReceiveTime": int(m.at),
            "CountryCode": "86",
            "SubscriberNumber": m.phone,
            "PhoneNumber": f"+86{m.phone}",
            "SerialNo": m.msg_id,
            "ReportStatus": "SUCCESS",
            "Description": "用户短信接收成功",
            "SessionContext": m.out_id,
        }
        for m in matching[offset : offset + limit]
    ]
    return JSONResponse({"Response": {"PullSmsSendStatusSet": statuses, "RequestId": secrets.token_hex(16)}})


# --- steering --------------------------------------------------------------------------------------


@router.get("/sim/sms/messages")
def messages(request: Request, phone: str | None = None) -> list[dict[str, Any]]:
    return [asdict(m) for m in gateway(request).sent if phone is None or m.phone == phone]


@router.get("/sim/sms/stats")
def stats(request: Request) -> dict[str, Any]:
    state = gateway(request)
    per_out_id: dict[str, int] = defaultdict(int)
    for message in state.sent:
        per_out_id[message.out_id] += 1
    return {
        "accepted": len(state.sent),
        "attempts": len(state.attempts),
        "refused": sum(1 for _, _, outcome in state.attempts if outcome not in ("OK", "Ok")),
        "duplicates": sum(count - 1 for count in per_out_id.values() if count > 1),
        "distinct": len(per_out_id),
    }


@router.get("/sim/sms/reports")
def reports(request: Request) -> list[dict[str, Any]]:
    return [
        {"provider": provider, "msg_id": msg_id, "delivered": delivered, "status": status}
        for provider, msg_id, delivered, status in gateway(request).reports
    ]


@router.put("/sim/sms/undeliverable/{phone}")
def undeliverable(request: Request, phone: str) -> dict[str, str]:
    """From now on, messages to `phone` are accepted but reported undelivered."""
    gateway(request).undeliverable.add(phone)
    return {"status": "undeliverable"}


@router.delete("/sim/sms/messages")
def reset(request: Request) -> dict[str, str]:
    request.app.state.sms_gateway = GatewayState()
    return {"status": "reset"}


class FaultSetting(BaseModel):
    mode: Literal["none", "fail", "code", "slow"]
    code: str = ""
    delay: float = Field(default=0.0, ge=0, le=30)
    count: int | None = Field(default=None, ge=0)


@router.put("/sim/sms/faults")
def set_fault(request: Request, setting: FaultSetting) -> dict[str, Any]:
    state = gateway(request)
    state.fault = SmsFault(setting.mode, setting.code, setting.delay, setting.count)
    return asdict(state.fault)


class PhoneReply(BaseModel):
    phone: str = Field(pattern=r"^1[3-9]\d{9}$")
    text: str = Field(min_length=1, max_length=500)
    provider: Literal["aliyun", "tencent"] = "aliyun"


def inbound_body(state: GatewayState, reply: PhoneReply, now: float) -> Any:
    """The provider's 上行 push: Aliyun a JSON array (SmsUp), Tencent a single object (no id)."""
    if reply.provider == "aliyun":
        moment = datetime.fromtimestamp(now, LOCAL_ZONE).strftime("%Y-%m-%d %H:%M:%S")
        return [
            {
                "phone_number": reply.phone,
                "content": reply.text,
                "send_time": moment,
                "dest_code": "1069",
                "sequence_id": 100000 + state.next_sequence(),
            }
        ]
    return {
        "extend": "",
        "mobile": reply.phone,
        "nationcode": "86",
        "sign": "",
        "text": reply.text,
        "time": int(now),
    }


@router.post("/sim/sms/reply")
async def phone_reply(request: Request, reply: PhoneReply) -> dict[str, Any]:
    """A customer's phone answers by SMS: the provider pushes it to the webhook gateway."""
    state = gateway(request)
    if reply.text.strip().upper() in ("TD", "T", "退订"):
        state.blacklist.add(reply.phone)
    elif reply.text.strip() == "订阅":
        state.blacklist.discard(reply.phone)
    body = inbound_body(state, reply, time.time())
    client: aiohttp.ClientSession = request.app.state.http
    try:
        async with client.post(_inbound_url(request, "/webhooks/sms/webhook"), json=body, headers=_inbound_headers(),
                               timeout=aiohttp.ClientTimeout(total=5.0)) as answer:  # fmt: skip
            status, ack = answer.status, await answer.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return {"delivered": False, "error": type(exc).__name__, "body": body}
    return {"delivered": status == 200, "status": status, "ack": ack, "body": body}
