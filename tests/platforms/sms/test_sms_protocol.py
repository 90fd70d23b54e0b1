"""Inbound SMS parsing: both providers' formats, strict validation, dedup keys, auth helpers."""

from __future__ import annotations

import json

import pytest

from platforms.sms import protocol

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
    batch = protocol.parse(json.dumps(ALIYUN).encode())
    assert batch.provider == "aliyun" and protocol.ack(batch.provider) == {"code": 0, "msg": "接收成功"}
    assert [i.key for i in batch.accepted] == ["sms:aliyun:1234567", "sms:aliyun:1234568"] and not batch.refused
    assert batch.accepted[0].phone == "13800000002" and batch.accepted[0].text == "停电了"


def test_aliyun_item_without_sequence_id_falls_back_to_a_digest_without_the_phone():
    item = dict(ALIYUN[0], sequence_id=None)
    (first,) = protocol.parse(json.dumps([item]).encode()).accepted
    (again,) = protocol.parse(json.dumps([item]).encode()).accepted
    (other,) = protocol.parse(json.dumps([dict(item, content="还是没电")]).encode()).accepted
    assert first.key == again.key != other.key and first.key.startswith("sms:aliyun:")
    assert "13800000002" not in first.key


def test_tencent_reply_has_no_id_and_is_keyed_by_a_digest_of_mobile_time_and_text():
    batch = protocol.parse(json.dumps(TENCENT).encode())
    assert batch.provider == "tencent" and protocol.ack(batch.provider) == {"result": 0, "errmsg": "OK"}
    (item,) = batch.accepted
    assert item.key.startswith("sms:tencent:") and "13800000002" not in item.key
    (same,) = protocol.parse(json.dumps(TENCENT).encode()).accepted
    (later,) = protocol.parse(json.dumps(dict(TENCENT, time=1795331001)).encode()).accepted
    assert same.key == item.key != later.key


def test_row33_one_bad_item_is_refused_alone():
    """A batch with a malformed item: the others are accepted, the bad one is named."""
    bad = [ALIYUN[0], dict(ALIYUN[1], phone_number="12345"), dict(ALIYUN[1], sequence_id=1234569)]
    batch = protocol.parse(json.dumps(bad).encode())
    assert [i.key for i in batch.accepted] == ["sms:aliyun:1234567", "sms:aliyun:1234569"]
    assert batch.refused == ["item 1: bad phone number"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        json.dumps([ALIYUN[0]] * 101).encode(),
        b"[" + b" " * protocol.MAX_BODY_BYTES + b"]",
    ],
)
def test_bodies_of_no_provider_shape_are_refused_whole(body):
    with pytest.raises(protocol.MalformedSms):
        protocol.parse(body)


@pytest.mark.parametrize(
    "item",
    [
        dict(ALIYUN[0], phone_number="12345"),
        dict(ALIYUN[0], content=""),
        dict(ALIYUN[0], send_time="yesterday"),
        dict(ALIYUN[0], sequence_id="1; DROP"),
        "a string",
    ],
)
def test_malformed_aliyun_items_are_refused(item):
    batch = protocol.parse(json.dumps([item]).encode())
    assert batch.accepted == [] and len(batch.refused) == 1


@pytest.mark.parametrize(
    "item", [dict(TENCENT, time="1795331000"), dict(TENCENT, nationcode="1"), dict(TENCENT, text="x" * 501)]
)
def test_malformed_tencent_replies_are_refused(item):
    batch = protocol.parse(json.dumps(item).encode())
    assert batch.accepted == [] and len(batch.refused) == 1


def test_text_is_normalised_and_control_characters_dropped():
    (item,) = protocol.parse(json.dumps(dict(TENCENT, text="ＴＤ\x07")).encode()).accepted
    assert item.text == "TD" and protocol.is_opt_out(item.text)
    assert protocol.is_opt_out(" 退订 ") and protocol.is_opt_out("t") and protocol.is_opt_out("td")
    assert not protocol.is_opt_out("不要退订我的电")


@pytest.mark.parametrize("text", ["N", "n", "取消订阅", "退订短信", "不要"])
def test_row40_only_the_providers_keywords_unsubscribe(text):
    """ "N" (a customer answering no) used to block the number for good."""
    assert not protocol.is_opt_out(text)


def test_subscribe_is_the_way_back():
    assert protocol.is_opt_in("订阅") and protocol.is_opt_in(" 订阅 ") and not protocol.is_opt_in("取消订阅")


ALIYUN_REPORT = {
    "phone_number": "13800000002", "send_time": "2026-11-22 15:30:00", "report_time": "2026-11-22 15:30:05",
    "success": False, "err_code": "MK:0001", "err_msg": "空号", "sms_size": "1", "biz_id": "1234^5678",
    "out_id": "pd42",
}  # fmt: skip
TENCENT_REPORT = {
    "user_receive_time": "2026-11-22 15:30:05", "nationcode": "86", "mobile": "13800000003",
    "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功", "sid": "2019:1234",
}  # fmt: skip


def test_delivery_reports_of_both_providers():
    aliyun = protocol.parse_reports(json.dumps([ALIYUN_REPORT]).encode())
    (report,) = aliyun.accepted
    assert aliyun.provider == "aliyun" and not report.delivered and report.msg_id == "1234^5678"
    assert report.out_id == "pd42" and report.code == "MK:0001" and "13800000002" not in report.key
    tencent = protocol.parse_reports(json.dumps([TENCENT_REPORT, dict(TENCENT_REPORT, sid="")]).encode())
    assert tencent.provider == "tencent" and [r.delivered for r in tencent.accepted] == [True]
    assert tencent.refused == ["item 1: sid missing or malformed"]
    with pytest.raises(protocol.MalformedSms):
        protocol.parse_reports(json.dumps(TENCENT_REPORT).encode())


def test_token_and_allowlist():
    assert protocol.token_matches("s3cret-token-value", "s3cret-token-value")
    assert not protocol.token_matches("wrong", "s3cret-token-value") and not protocol.token_matches(None, "x")
    assert not protocol.token_matches("", "")
    allow = protocol.parse_allowlist("10.0.0.0/8, 127.0.0.1")
    assert protocol.ip_allowed("10.1.2.3", allow) and protocol.ip_allowed("127.0.0.1", allow)
    assert not protocol.ip_allowed("8.8.8.8", allow) and not protocol.ip_allowed("garbage", allow)
    assert protocol.ip_allowed("8.8.8.8", [])
