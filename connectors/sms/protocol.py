"""Inbound SMS (上行短信) from the gateway: parsing, strict validation, dedup keys, authentication.

Two formats (RELIABILITY F, rows 33-36):
- Aliyun SmsUp HTTP push: a JSON array of `{phone_number, content, send_time, dest_code,
  sequence_id}`; acknowledged with `{"code":0,"msg":"接收成功"}` within 700 ms. Key
  `sms:aliyun:<sequence_id>`.
- Tencent reply callback: one object `{extend, mobile, nationcode, sign, text, time}` with no id;
  acknowledged with `{"result":0,"errmsg":"OK"}`. Key `sms:tencent:<mobile>:<time>:<sha1(text)>`.

Neither provider signs its pushes: the endpoint is guarded by a secret token (in the path or the
`token` query parameter) and an IP allowlist. No rasa import (both environments use this module).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_BODY_BYTES = 64 * 1024
MAX_ITEMS = 100
MAX_TEXT = 500
ALIYUN_ACK = {"code": 0, "msg": "接收成功"}
TENCENT_ACK = {"result": 0, "errmsg": "OK"}
OPT_OUT_WORDS = {"TD", "T", "N", "退订", "退订短信", "取消订阅"}

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class MalformedSms(ValueError):
    """The body is not what the provider sends: refused with 400."""


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


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


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


def parse(body: bytes) -> tuple[str, list[InboundSms]]:
    """The provider ("aliyun" | "tencent") and the messages of one push. Raises MalformedSms."""
    if len(body) > MAX_BODY_BYTES:
        raise MalformedSms("body too large")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedSms("not JSON") from exc
    if isinstance(data, list):
        if not data or len(data) > MAX_ITEMS:
            raise MalformedSms("an Aliyun push holds 1 to 100 items")
        return "aliyun", [_aliyun_item(item) for item in data]
    if isinstance(data, dict) and "mobile" in data:
        return "tencent", [_tencent_item(data)]
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
    key = f"sms:aliyun:{sequence}" if sequence else f"sms:aliyun:{phone}:{sent_at}:{_digest(text)}"
    return InboundSms(key, "aliyun", phone, text, sent_at)


def _tencent_item(item: dict[str, Any]) -> InboundSms:
    if str(item.get("nationcode", "86")) != "86":
        raise MalformedSms("only mainland numbers are served")
    phone = _phone(item.get("mobile"))
    text = _text(item.get("text"))
    moment = item.get("time")
    if not isinstance(moment, int) or isinstance(moment, bool) or moment <= 0:
        raise MalformedSms("time must be Unix seconds")
    return InboundSms(f"sms:tencent:{phone}:{moment}:{_digest(text)}", "tencent", phone, text, str(moment))


def ack(provider: str) -> dict[str, Any]:
    return ALIYUN_ACK if provider == "aliyun" else TENCENT_ACK


def is_opt_out(text: str) -> bool:
    return text.strip().upper() in OPT_OUT_WORDS


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
