"""Input normalisation that every channel applies before the NLU."""

from __future__ import annotations

import pytest

from platforms.text import MAX_CHARS, NormalizedText, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("我的户号是０１２３４５６７８９", "我的户号是0123456789"),
        ("电话 138 1234 5678 谢谢", "电话 13812345678 谢谢"),
        ("138-1234-5678", "13812345678"),
        ("户号3201 2345 67", "户号3201234567"),
        ("停\u200b电\u200d了\ufeff", "停电了"),
        ("家里\x1d没电\x01了", "家里没电了"),
        ("  家里   没电了  ", "家里 没电了"),
        ("第一行\r\n\r\n第二行", "第一行\n第二行"),
        ("ＱＸ２０２６１１２２０００１进度", "QX202611220001进度"),
        # Chinese punctuation stays as typed (the NLU's training text, the worker's summary)
        ("停电了，邻居家有电！什么时候来？", "停电了，邻居家有电！什么时候来？"),
        ("地址：和平路（东段）３号；谢谢", "地址：和平路（东段）3号；谢谢"),
    ],
)
def test_normalize_cleans_text(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


def test_words_between_numbers_are_not_joined() -> None:
    assert normalize("3号楼 5单元").text == "3号楼 5单元"


@pytest.mark.parametrize(
    "raw", ["/report_outage", "/restart", '/greet{"account_no": "1"}', " //stop", "／greet{“a”：“1”}"]
)
def test_leading_slash_cannot_inject_an_intent(raw: str) -> None:
    result = normalize(raw)
    assert not result.text.startswith("/")
    assert result.text


@pytest.mark.parametrize("raw", ["😀", "👍👍", "🙏 🙏", "[微笑]", "/::)", "👨\u200d👩\u200d👧"])
def test_emoji_only_detected(raw: str) -> None:
    assert normalize(raw).emoji_only


@pytest.mark.parametrize("raw", ["好的👍", "停电了😭", "", "   ", "123", "[户号]0123456789"])
def test_text_with_words_is_not_emoji_only(raw: str) -> None:
    assert not normalize(raw).emoji_only


def test_long_input_is_cut_and_flagged() -> None:
    result = normalize("停电" * MAX_CHARS)
    assert result == NormalizedText(text=("停电" * MAX_CHARS)[:MAX_CHARS], truncated=True, emoji_only=False)
    assert not normalize("停电了").truncated


def test_keycap_emoji_answer_a_numbered_option() -> None:
    assert normalize("1️⃣") == NormalizedText(text="1")


def test_normalize_is_idempotent() -> None:
    once = normalize("／ｒｅｓｔａｒｔ 138 1234 5678\u200b")
    assert normalize(once.text).text == once.text
