"""CallbackGate: what the channels accept and refuse, with requests built like the platforms'
(the simulator's wechatpy-based peer). RELIABILITY rows 4-5, 7-10, 12, 20-22."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from platforms.wechat.protocol import CallbackGate, Quarantined, Rejected
from simulator.messages import UserAction, wechat_xml, wecom_xml
from simulator.peer import CallbackPeer, platform_xml
from tests.support.keys import new_aes_key

TOKEN, APP, CORP = "tok3n", "wx0123456789abcdef", "ww0123456789abcdef"


def split(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def wechat_pair(aes: str = "", previous: str = "", peer_key: str | None = None) -> tuple[CallbackGate, CallbackPeer]:
    gate = CallbackGate(token=TOKEN, aes_keys=[aes, previous], receive_id=APP, key_prefix=f"wx:{APP}")
    peer = CallbackPeer("http://channel/webhook", TOKEN, aes if peer_key is None else peer_key, APP,
                        envelope_to="gh_account")  # fmt: skip
    return gate, peer


def text_xml(content: str = "我家停电了", sender: str = "o_user_1") -> str:
    return wechat_xml(UserAction(type="text", content=content), sender, "gh_account")


def open_request(gate: CallbackGate, peer: CallbackPeer, xml: str, **kwargs):
    url, body = peer.signed_request(xml, **kwargs)
    return gate.open(split(url), body)


def test_safe_mode_message_is_verified_decrypted_and_keyed() -> None:
    gate, peer = wechat_pair(new_aes_key())
    inbound = open_request(gate, peer, text_xml())
    assert inbound.fields["Content"] == "我家停电了" and inbound.msg_type == "text"
    assert inbound.key == f"wx:{APP}:{inbound.fields['MsgId']}" and inbound.key_index == 0


def test_plaintext_mode_works_when_no_aes_key_is_configured() -> None:
    gate, peer = wechat_pair("")
    assert open_request(gate, peer, text_xml()).fields["Content"] == "我家停电了"


def test_row4_forged_or_missing_signatures_are_403() -> None:
    gate, peer = wechat_pair(new_aes_key())
    url, body = peer.signed_request(text_xml())
    query = split(url)
    for change in ({"msg_signature": "0" * 40}, {"msg_signature": ""}, {"nonce": "other"}):
        with pytest.raises(Rejected) as caught:
            gate.open(query | change, body)
        assert caught.value.status == 403
    plain_gate, plain_peer = wechat_pair("")
    url, body = plain_peer.signed_request(text_xml())
    with pytest.raises(Rejected) as caught:
        plain_gate.open(split(url) | {"signature": "f" * 40}, body)
    assert caught.value.status == 403
    wrong_token = CallbackGate(token="other", aes_keys=[], receive_id=APP, key_prefix="wx")
    with pytest.raises(Rejected):
        wrong_token.open(split(url), body)


@pytest.mark.parametrize("offset", [-301, 301, -86400 * 365 * 20])
def test_row5_stale_or_future_timestamps_are_403(offset: int) -> None:
    gate, peer = wechat_pair(new_aes_key())
    with pytest.raises(Rejected) as caught:
        open_request(gate, peer, text_xml(), timestamp=str(int(time.time()) + offset))
    assert caught.value.status == 403


def test_row5_milliseconds_timestamp_is_refused() -> None:
    gate, peer = wechat_pair("")
    with pytest.raises(Rejected):
        open_request(gate, peer, text_xml(), timestamp=str(int(time.time() * 1000)))


def test_row7_plaintext_post_is_refused_when_an_aes_key_is_configured() -> None:
    gate, _ = wechat_pair(new_aes_key())
    _, plain_peer = wechat_pair("")
    url, body = plain_peer.signed_request(text_xml())
    with pytest.raises(Rejected) as caught:
        gate.open(split(url), body)  # a valid plaintext signature, swapped body
    assert caught.value.status == 403


def test_row8_ciphertext_tampered_under_a_valid_query_is_refused() -> None:
    gate, peer = wechat_pair(new_aes_key())
    url, body = peer.signed_request(text_xml())
    tampered = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA", 1)
    with pytest.raises(Rejected) as caught:
        gate.open(split(url), tampered)
    assert caught.value.status == 403  # msg_signature covers the ciphertext


def test_row8_undecryptable_but_signed_ciphertext_is_400() -> None:
    key = new_aes_key()
    gate, _ = wechat_pair(key)
    other = CallbackPeer("http://c/w", TOKEN, key, "wx_other_app_id", envelope_to="gh")  # wrong AppID
    url, body = other.signed_request(text_xml())
    with pytest.raises(Rejected) as caught:
        gate.open(split(url), body)
    assert caught.value.status == 400
    query = split(url)
    no_encrypt = platform_xml({"ToUserName": "gh"}).encode()
    with pytest.raises(Rejected) as caught:
        gate.open(query, no_encrypt)
    assert caught.value.status == 400


def test_row9_message_encrypted_with_the_previous_key_is_accepted() -> None:
    old, new = new_aes_key(), new_aes_key()
    gate, peer = wechat_pair(new, previous=old, peer_key=old)
    assert open_request(gate, peer, text_xml()).key_index == 1


def test_row10_oversized_body_is_413_before_parsing() -> None:
    gate, _ = wechat_pair(new_aes_key())
    with pytest.raises(Rejected) as caught:
        gate.open({"timestamp": str(int(time.time())), "nonce": "1"}, b"<" * (1024 * 1024))
    assert caught.value.status == 413


@pytest.mark.parametrize(
    "xml",
    [
        "<xml><ToUserName>gh</ToUserName></xml>",
        "<xml><FromUserName>o_u</FromUserName><CreateTime>abc</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>",
        "<xml><FromUserName>o_u</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>abc</MsgId></xml>",
        "<xml><FromUserName>o_u</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
        "<MsgType>image</MsgType></xml>",
        "this is not xml",
        "<root><MsgType>text</MsgType></root>",
    ],
)
def test_row12_signed_but_malformed_messages_are_quarantined(xml: str) -> None:
    gate, peer = wechat_pair(new_aes_key())
    with pytest.raises(Quarantined):
        open_request(gate, peer, xml)


def test_row21_json_body_is_refused_loudly(caplog) -> None:
    gate, _ = wechat_pair("")
    query = {"timestamp": str(int(time.time())), "nonce": "1", "signature": "x"}
    with pytest.raises(Rejected) as caught:
        gate.open(query, b'{"ToUserName": "gh", "Encrypt": "..."}')
    assert caught.value.status == 400
    assert "JSON" in caplog.text


def test_row20_echo_returns_exactly_echostr_and_refuses_bad_signatures_and_markup() -> None:
    gate, peer = wechat_pair(new_aes_key())
    query = split(peer.echo_url("1234567890123456789"))
    assert gate.echo(query) == "1234567890123456789"
    with pytest.raises(Rejected):
        gate.echo(query | {"signature": "0" * 40})
    markup = split(peer.echo_url("<script>alert(1)</script>"))
    with pytest.raises(Rejected):
        gate.echo(markup)


def wecom_pair() -> tuple[CallbackGate, CallbackPeer]:
    key = new_aes_key()
    gate = CallbackGate(token=TOKEN, aes_keys=[key], receive_id=CORP, key_prefix=f"wecom:{CORP}:1000002",
                        enterprise=True)  # fmt: skip
    peer = CallbackPeer("http://channel/wecom", TOKEN, key, CORP, enterprise=True, envelope_to=CORP,
                        agent_id="1000002")  # fmt: skip
    return gate, peer


def test_row22_wecom_echo_is_decrypted_and_messages_use_the_corp_id() -> None:
    gate, peer = wecom_pair()
    assert gate.echo(split(peer.echo_url("8873468234729384"))) == "8873468234729384"
    xml = wecom_xml(UserAction(type="text", content="接单"), "wg_zhang_01", CORP, "1000002")
    inbound = open_request(gate, peer, xml)
    assert inbound.fields["Content"] == "接单" and inbound.fields["AgentID"] == "1000002"
    assert inbound.key.startswith(f"wecom:{CORP}:1000002:")


def test_row22_wecom_forged_signature_and_other_corp_are_refused() -> None:
    gate, peer = wecom_pair()
    xml = wecom_xml(UserAction(type="text", content="接单"), "wg_zhang_01", CORP, "1000002")
    url, body = peer.signed_request(xml)
    with pytest.raises(Rejected):
        gate.open(split(url) | {"msg_signature": "1" * 40}, body)
    _, other = wecom_pair()
    url, body = other.signed_request(xml)  # another corp's key
    with pytest.raises(Rejected):
        gate.open(split(url), body)
