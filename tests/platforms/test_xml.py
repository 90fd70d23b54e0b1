"""Safe XML parsing and CDATA rendering (rows 11-13, 16)."""

from __future__ import annotations

import time

import pytest
from defusedxml.ElementTree import fromstring

from platforms._xml import XmlRejected, cdata, parse_flat_xml, render_xml

MESSAGE = (
    "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>"
    "<CreateTime>1714037059</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[{content}]]></Content><MsgId>24512345678901234</MsgId></xml>"
)


def test_parses_a_platform_message() -> None:
    fields = parse_flat_xml(MESSAGE.format(content="我家停电了").encode())
    assert fields["Content"] == "我家停电了" and fields["MsgId"] == "24512345678901234"


def test_row13_control_characters_inside_cdata_are_stripped() -> None:
    fields = parse_flat_xml(MESSAGE.format(content="停\x1d电\x01了\t\n").encode())
    assert fields["Content"] == "停电了\t\n"


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{"&lol" + str(i - 1) + ";" if i > 1 else "&lol;"}' * 10 + '">' for i in range(1, 10))
    + "]><xml><Content>&lol9;</Content></xml>"
)
XXE = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>'


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, "<!doctype xml><xml></xml>", "<xml><!ENTITY a 'b'></xml>"])
def test_row11_dtd_and_entities_are_refused_fast(body: str) -> None:
    started = time.monotonic()
    with pytest.raises(XmlRejected):
        parse_flat_xml(body.encode())
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    "body",
    [
        "not xml at all",
        "<root><MsgType>text</MsgType></root>",
        "<xml><MsgType>text</MsgType><MsgType>image</MsgType></xml>",
        "<xml><A><B><C>deep</C></B></A></xml>",
        "<xml>" + "".join(f"<F{i}>x</F{i}>" for i in range(41)) + "</xml>",
        "<xml><Content>" + "长" * 10_001 + "</Content></xml>",
        b"<xml><Content>\xff\xfe</Content></xml>",
        "<xml><Content>" + "x" * 70_000 + "</Content></xml>",
    ],
    ids=["not-xml", "root", "duplicate", "nested", "too-many", "too-long", "not-utf8", "oversized"],
)
def test_row12_malformed_documents_raise_xml_rejected(body: str | bytes) -> None:
    with pytest.raises(XmlRejected):
        parse_flat_xml(body if isinstance(body, bytes) else body.encode())


def test_row16_cdata_with_terminator_stays_well_formed_and_unescaped() -> None:
    text = "回复内容 ]]> <b>&amp; 结束"
    document = render_xml({"ToUserName": "o_user", "CreateTime": 1714037059, "Content": text})
    assert fromstring(document).find("Content").text == text
    assert parse_flat_xml(document.encode())["Content"] == text
    assert cdata("a]]>b]]>c").count("<![CDATA[") == 3
