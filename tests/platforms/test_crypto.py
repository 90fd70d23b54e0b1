"""Message crypto against the official/wechatpy vectors, wechatpy interop, rotation (rows 8-9)."""

from __future__ import annotations

import base64

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from platforms._security import sha1_signature, signature_matches
from platforms.wechat.crypto import DecryptError, MessageCrypto, decode_aes_key
from tests.support.keys import new_aes_key

# wechatpy tests/test_crypto.py (WeCom sample): token 123456, corp wx49f0ab532d5d035a
TOKEN, KEY, CORP = "123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a"
ECHO = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="


def test_official_plaintext_signature_vector() -> None:
    # RELIABILITY A.1: Token AAAAA, timestamp 1714037059, nonce 486452656
    assert sha1_signature("AAAAA", "1714037059", "486452656") == "899cf89e464efb63f54ddac96b0a0a235f53aa78"
    assert signature_matches("899CF89E464EFB63F54DDAC96B0A0A235F53AA78", "AAAAA", "1714037059", "486452656")
    assert not signature_matches("899cf89e464efb63f54ddac96b0a0a235f53aa79", "AAAAA", "1714037059", "486452656")


def test_wecom_sample_signature_and_echostr() -> None:
    crypto = MessageCrypto(TOKEN, [KEY], CORP)
    assert crypto.signature("1411443780", "437374425", ECHO) == "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
    expected = WeComCrypto(TOKEN, KEY, CORP).check_signature(
        "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425", ECHO
    )
    assert crypto.decrypt(ECHO) == (expected, 0)


def test_known_ciphertext_with_fixed_random() -> None:
    # the "test"/"rust" vector used by the wechat SDK ports of the same scheme
    crypto = MessageCrypto(TOKEN, [KEY], "rust")
    assert crypto.encrypt("test", random16=b"1234567890123456") == "9s4gMv99m88kKTh/H8IdkNiFGeG9pd7vNWl50fGRWXY="
    assert crypto.decrypt("9s4gMv99m88kKTh/H8IdkNiFGeG9pd7vNWl50fGRWXY=") == ("test", 0)


def test_interoperates_with_wechatpy_both_ways() -> None:
    key, app_id = new_aes_key(), "wx1234567890abcdef"
    ours, theirs = MessageCrypto("tok", [key], app_id), WeChatCrypto("tok", key, app_id)
    xml = "<xml><Content><![CDATA[我家停电了]]></Content></xml>"
    envelope = xmltodict.parse(theirs.encrypt_message(xml, "nonce1", "1714037059"))["xml"]
    assert ours.signature("1714037059", "nonce1", envelope["Encrypt"]) == envelope["MsgSignature"]
    assert ours.decrypt(envelope["Encrypt"]) == (xml, 0)
    reply = ours.envelope("<xml><Content><![CDATA[已收到]]></Content></xml>", "1714037060", "nonce2")
    fields = xmltodict.parse(reply)["xml"]
    assert theirs.decrypt_message(reply, fields["MsgSignature"], "1714037060", "nonce2").startswith("<xml>")


def test_row9_rotation_decrypts_with_the_previous_key_and_says_so() -> None:
    old, new = new_aes_key(), new_aes_key()
    sent_with_old = MessageCrypto("tok", [old], "wxapp").encrypt("<xml/>")
    rotating = MessageCrypto("tok", [new, old], "wxapp")
    assert rotating.decrypt(sent_with_old) == ("<xml/>", 1)
    assert rotating.decrypt(rotating.encrypt("<xml/>", key_index=0)) == ("<xml/>", 0)
    with pytest.raises(DecryptError):
        MessageCrypto("tok", [new], "wxapp").decrypt(sent_with_old)


@pytest.mark.parametrize(
    "mutate",
    [
        # CBC has no integrity: a flip in the last block breaks the padding or the app id (a flip
        # elsewhere is caught by msg_signature, which covers the ciphertext; see test_protocol)
        pytest.param(lambda e: e[:-8] + ("A" if e[-8] != "A" else "B") + e[-7:], id="last-block-flipped"),
        pytest.param(lambda e: "%%%not-base64%%%", id="bad-base64"),
        pytest.param(lambda e: base64.b64encode(base64.b64decode(e)[:-16]).decode(), id="truncated"),
        pytest.param(lambda e: base64.b64encode(base64.b64decode(e)[:-3]).decode(), id="not-whole-blocks"),
        pytest.param(lambda e: "", id="empty"),
    ],
)
def test_row8_tampered_ciphertext_raises_only_decrypt_error(mutate) -> None:
    crypto = MessageCrypto("tok", [new_aes_key()], "wxapp")
    with pytest.raises(DecryptError):
        crypto.decrypt(mutate(crypto.encrypt("<xml><MsgType>text</MsgType></xml>" * 3)))


def test_row8_wrong_app_id_is_refused() -> None:
    key = new_aes_key()
    encrypted = MessageCrypto("tok", [key], "wx_other_app").encrypt("<xml/>")
    with pytest.raises(DecryptError):
        MessageCrypto("tok", [key], "wxapp").decrypt(encrypted)


@pytest.mark.parametrize("bad", ["short", "!" * 43, KEY[:-1] + "="])
def test_malformed_encoding_aes_key_is_a_value_error_at_startup(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_aes_key(bad)
