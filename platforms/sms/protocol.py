"""What the SMS providers push to us: replies (上行短信) and delivery reports, parsed item by item,
strictly validated, with dedup keys that hold no phone number. No rasa import (both environments).

Replies (RELIABILITY F, rows 33-36):
- Aliyun SmsUp HTTP push: a JSON array of `{phone_number, content, send_time, dest_code,
  sequence_id}`; acknowledged with `{"code":0,"msg":"接收成功"}` within 700 ms. Key
  `sms:aliyun:<sequence_id>`, else a digest of phone, time and text.
- Tencent reply callback: one object `{extend, mobile, nationcode, sign, text, time}` with no id;
  acknowledged with `{"result":0,"errmsg":"OK"}`. Key `sms:tencent:<digest of mobile, time, text>`.

Delivery reports (rows 33, 35):
- Aliyun SmsReport: an array of `{phone_number, send_time, report_time, success, err_code, err_msg,
  sms_size, biz_id, out_id}`; key `smsr:aliyun:<biz_id>:<digest of phone>`.
- Tencent status callback: an array of up to 100 `{user_receive_time, nationcode, mobile,
  report_status, errmsg, description, sid}`; key `smsr:tencent:<sid>:<digest of mobile>`.

A batch is taken item by item: a malformed item is refused alone (its reason is returned, for the
log and the quarantine) and the others are accepted; only a body that is not the provider's shape
at all is refused whole.

Neither provider signs its pushes. The webhook gateway takes them behind a secret header and an IP
allowlist (bot_runtime/sms_webhook.py).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

MAX_BODY_BYTES = 64 * 1024
MAX_ITEMS = 100
MAX_TEXT = 500
ALIYUN_ACK = {"code": 0, "msg": "接收成功"}
TENCENT_ACK = {"result": 0, "errmsg": "OK"}
#: the unsubscribe keywords of the providers and carriers (any case); nothing else unsubscribes
OPT_OUT_WORDS = {"TD", "T", "退订"}
#: the way back after an opt-out
OPT_IN_WORDS = {"订阅"}

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ID = re.compile(r"^[0-9A-Za-z^:_\-]{1,64}$")

Item = TypeVar("Item")


class MalformedSms(ValueError):
    """The body, or one item of it, is not what the provider sends."""


@dataclass(frozen=True)
class InboundSms:
    key: str
    provider: str
    phone: str
    text: str
    sent_at: str

    def payload(self) -> dict[str, Any]:
        return {"key": self.key, "provider": self.provider, "phone": self.phone, "text": self.text,
                "sent_at": self.sent_at}  # fmt: skip


@dataclass(frozen=True)
class DeliveryReport:
    key: str
    provider: str
    phone: str
    #: the provider's id of the message (Aliyun BizId, Tencent SerialNo / sid)
    msg_id: str
    #: our id of the message when the provider echoes it (Aliyun OutId: "pd<outbox id>")
    out_id: str
    delivered: bool
    code: str

    def payload(self) -> dict[str, Any]:
        return {"provider": self.provider, "phone": self.phone, "msg_id": self.msg_id, "out_id": self.out_id,
                "delivered": self.delivered, "code": self.code}  # fmt: skip


@dataclass
class Batch(Generic[Item]):
    provider: str
    accepted: list[Item] = field(default_factory=list)
    #: why each refused item was refused
    refused: list[str] = field(default_factory=list)


def digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:24]


def _phone(value: Any) -> str:
    phone = str(value or "").strip().removeprefix("+86")
    if not _PHONE.match(phone):
        raise MalformedSms("bad phone number")
    return phone


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise MalformedSms("text must be a string")
    text = _CONTROL.sub("", unicodedata.normalize("NFKC", value)).strip()
    if not text or len(text) > MAX_TEXT:
        raise MalformedSms("empty or overlong text")
    return text


def _load(body: bytes) -> Any:
    if len(body) > MAX_BODY_BYTES:
        raise MalformedSms("body too large")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedSms("not JSON") from exc


def _items(provider: str, data: list[Any], parse_item: Callable[[Any], Item]) -> Batch[Item]:
    if not data or len(data) > MAX_ITEMS:
        raise MalformedSms("a push holds 1 to 100 items")
    batch: Batch[Item] = Batch(provider)
    for n, item in enumerate(data):
        try:
            batch.accepted.append(parse_item(item))
        except MalformedSms as exc:
            batch.refused.append(f"item {n}: {exc}")
    return batch


def parse(body: bytes) -> Batch[InboundSms]:
    """The replies of one push; MalformedSms when the body is neither provider's shape."""
    data = _load(body)
    if isinstance(data, list):
        return _items("aliyun", data, _aliyun_item)
    if isinstance(data, dict) and "mobile" in data:
        batch: Batch[InboundSms] = Batch("tencent")
        try:
            batch.accepted.append(_tencent_item(data))
        except MalformedSms as exc:
            batch.refused.append(str(exc))
        return batch
    raise MalformedSms("neither an Aliyun nor a Tencent reply")


def _aliyun_item(item: Any) -> InboundSms:
    if not isinstance(item, dict):
        raise MalformedSms("an item must be an object")
    phone = _phone(item.get("phone_number"))
    text = _text(item.get("content"))
    sent_at = str(item.get("send_time") or "")
    try:
        datetime.strptime(sent_at, "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise MalformedSms("send_time must be yyyy-MM-dd HH:mm:ss") from exc
    sequence = str(item.get("sequence_id") or "").strip()
    if sequence and not sequence.isdigit():
        raise MalformedSms("sequence_id must be numeric")
    key = f"sms:aliyun:{sequence}" if sequence else f"sms:aliyun:{digest(phone, sent_at, text)}"
    return InboundSms(key, "aliyun", phone, text, sent_at)


def _tencent_item(item: dict[str, Any]) -> InboundSms:
    if str(item.get("nationcode", "86")) != "86":
        raise MalformedSms("only mainland numbers are served")
    phone = _phone(item.get("mobile"))
    text = _text(item.get("text"))
    moment = item.get("time")
    if not isinstance(moment, int) or isinstance(moment, bool) or moment <= 0:
        raise MalformedSms("time must be Unix seconds")
    return InboundSms(f"sms:tencent:{digest(phone, str(moment), text)}", "tencent", phone, text, str(moment))


def parse_reports(body: bytes) -> Batch[DeliveryReport]:
    """The delivery reports of one push (an array from either provider)."""
    data = _load(body)
    if not isinstance(data, list):
        raise MalformedSms("a delivery report push is an array")
    first = data[0] if data and isinstance(data[0], dict) else {}
    if "sid" in first or "report_status" in first:
        return _items("tencent", data, _tencent_report)
    return _items("aliyun", data, _aliyun_report)


def _report_id(value: Any, name: str) -> str:
    text = str(value or "").strip()
    if not _ID.match(text):
        raise MalformedSms(f"{name} missing or malformed")
    return text


def _aliyun_report(item: Any) -> DeliveryReport:
    if not isinstance(item, dict):
        raise MalformedSms("an item must be an object")
    phone = _phone(item.get("phone_number"))
    biz_id = _report_id(item.get("biz_id"), "biz_id")
    success = item.get("success")
    if not isinstance(success, bool):
        raise MalformedSms("success must be true or false")
    out_id = str(item.get("out_id") or "")[:64]
    code = str(item.get("err_code") or "")[:64]
    return DeliveryReport(f"smsr:aliyun:{biz_id}:{digest(phone)}", "aliyun", phone, biz_id, out_id, success, code)


def _tencent_report(item: Any) -> DeliveryReport:
    if not isinstance(item, dict):
        raise MalformedSms("an item must be an object")
    if str(item.get("nationcode", "86")) != "86":
        raise MalformedSms("only mainland numbers are served")
    phone = _phone(item.get("mobile"))
    sid = _report_id(item.get("sid"), "sid")
    status = str(item.get("report_status") or "")
    if status not in ("SUCCESS", "FAIL"):
        raise MalformedSms("report_status must be SUCCESS or FAIL")
    code = str(item.get("errmsg") or "")[:64]
    return DeliveryReport(f"smsr:tencent:{sid}:{digest(phone)}", "tencent", phone, sid, "", status == "SUCCESS", code)


def ack(provider: str) -> dict[str, Any]:
    return ALIYUN_ACK if provider == "aliyun" else TENCENT_ACK


def is_opt_out(text: str) -> bool:
    return text.strip().upper() in OPT_OUT_WORDS


def is_opt_in(text: str) -> bool:
    return text.strip() in OPT_IN_WORDS


def token_matches(given: str | None, expected: str) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def parse_allowlist(raw: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """`SMS_ALLOWED_IPS`: comma-separated addresses or networks; empty allows every address."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]


def ip_allowed(address: str, allowlist: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    if not allowlist:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in allowlist)
