"""Inbound SMS parsing: both providers' formats, strict validation, dedup keys, auth helpers."""

from __future__ import annotations

import json

import pytest

from connectors.sms import protocol

ALIYUN = [
    {
        "phone_number": "13800000002",
        "content": "停电了",
        "send_time": "2026-11-22 15:30:00",
        "dest_code": "1069",
        "sequence_id": 1234567,
    },
    {
        "phone_number": "13800000003",
        "content": "TD",
        "send_time": "2026-11-22 15:30:01",
        "dest_code": "1069",
        "sequence_id": 1234568,
    },
]
TENCENT = {
    "extend": "",
    "mobile": "13800000002",
    "nationcode": "86",
    "sign": "国网客服",
    "text": "1",
    "time": 1795331000,
}


def test_aliyun_push_is_an_array_keyed_by_sequence_id():
    provider, items = protocol.parse(json.dumps(ALIYUN).encode())
    assert provider == "aliyun" and protocol.ack(provider) == {"code": 0, "msg": "接收成功"}
    assert [i.key for i in items] == ["sms:aliyun:1234567", "sms:aliyun:1234568"]
    assert items[0].phone == "13800000002" and items[0].text == "停电了"


def test_aliyun_item_without_sequence_id_falls_back_to_phone_time_and_text():
    item = dict(ALIYUN[0], sequence_id=None)
    _, (first,) = protocol.parse(json.dumps([item]).encode())
    _, (again,) = protocol.parse(json.dumps([item]).encode())
    _, (other,) = protocol.parse(json.dumps([dict(item, content="还是没电")]).encode())
    assert first.key == again.key != other.key and first.key.startswith("sms:aliyun:13800000002:2026-11-22 15:30:00:")


def test_tencent_reply_has_no_id_and_is_keyed_by_mobile_time_and_text():
    provider, (item,) = protocol.parse(json.dumps(TENCENT).encode())
    assert provider == "tencent" and protocol.ack(provider) == {"result": 0, "errmsg": "OK"}
    assert item.key.startswith("sms:tencent:13800000002:1795331000:")
    _, (same,) = protocol.parse(json.dumps(TENCENT).encode())
    _, (later,) = protocol.parse(json.dumps(dict(TENCENT, time=1795331001)).encode())
    assert same.key == item.key != later.key


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        json.dumps([ALIYUN[0]] * 101).encode(),
        json.dumps([dict(ALIYUN[0], phone_number="12345")]).encode(),
        json.dumps([dict(ALIYUN[0], content="")]).encode(),
        json.dumps([dict(ALIYUN[0], send_time="yesterday")]).encode(),
        json.dumps([dict(ALIYUN[0], sequence_id="1; DROP")]).encode(),
        json.dumps(dict(TENCENT, time="1795331000")).encode(),
        json.dumps(dict(TENCENT, nationcode="1")).encode(),
        json.dumps(dict(TENCENT, text="x" * 501)).encode(),
        b"[" + b" " * protocol.MAX_BODY_BYTES + b"]",
    ],
)
def test_malformed_pushes_are_refused(body):
    with pytest.raises(protocol.MalformedSms):
        protocol.parse(body)


def test_text_is_normalised_and_control_characters_dropped():
    _, (item,) = protocol.parse(json.dumps(dict(TENCENT, text="ＴＤ\x07")).encode())
    assert item.text == "TD" and protocol.is_opt_out(item.text)
    assert protocol.is_opt_out(" 退订 ") and not protocol.is_opt_out("不要退订我的电")


def test_token_and_allowlist():
    assert protocol.token_matches("s3cret-token-value", "s3cret-token-value")
    assert not protocol.token_matches("wrong", "s3cret-token-value") and not protocol.token_matches(None, "x")
    assert not protocol.token_matches("", "")
    allow = protocol.parse_allowlist("10.0.0.0/8, 127.0.0.1")
    assert protocol.ip_allowed("10.1.2.3", allow) and protocol.ip_allowed("127.0.0.1", allow)
    assert not protocol.ip_allowed("8.8.8.8", allow) and not protocol.ip_allowed("garbage", allow)
    assert protocol.ip_allowed("8.8.8.8", [])
