"""Normalise inbound chat text before it reaches the NLU (standard library only).

Every channel (WeChat, WeCom, SMS) calls `normalize()` on the raw message text and sends
`NormalizedText.text` to Rasa. The steps, in order:

1. NFKC: full-width digits and letters become ASCII (`０１２３` -> `0123`). Chinese punctuation
   that NFKC would also fold (`，！？：；（）`) is kept as written: it is what the NLU was trained
   on, and what a worker reads in a ticket's summary and an agent in the transcript.
2. Control characters (C0/C1 except tab and newline) and invisible format characters
   (zero-width space/joiner, BOM, bidi marks) are removed; runs of whitespace collapse to one space.
3. Digits split by spaces or dashes are joined (`138 1234 5678`, `138-1234-5678` -> `13812345678`)
   so that phone and account numbers are recognised; keycap emoji (`1️⃣`) become their digit, as
   customers answer numbered options with them.
4. A leading `/` is removed: Rasa's RegexMessageHandler reads `/intent{...}` as an injected intent,
   and customer text must never be able to do that.
5. Text longer than `MAX_CHARS` is cut; `truncated` tells the channel to say so.

`emoji_only` is true when the message holds nothing but emoji or WeChat face codes (`[微笑]`,
`/::)`), so the channel can treat it as "no words to understand".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_CHARS = 500

_KEPT_CONTROLS = {"\t", "\n"}
_DIGIT_GAP = re.compile(r"(?<=\d)[ \-\u2010-\u2015\u2212]+(?=\d)")
_SPACES = re.compile(r"[ \t\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_WECHAT_FACE = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,4}\]|/:[^\s/]{1,8}")
_EMOJI_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}
_KEYCAP = re.compile(r"([0-9#*])\ufe0f?\u20e3")
_CHINESE_PUNCTUATION = re.compile("([，！？：；（）])")


@dataclass(frozen=True)
class NormalizedText:
    text: str
    truncated: bool = False
    emoji_only: bool = False


def _strip_invisible(text: str) -> str:
    kept = []
    for char in text:
        if char in _KEPT_CONTROLS:
            kept.append(char)
        elif char == "\r":
            kept.append("\n")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            kept.append(char)
    return "".join(kept)


def _is_emoji_char(char: str) -> bool:
    if char in _EMOJI_JOINERS or char.isspace():
        return True
    category = unicodedata.category(char)
    return category in ("So", "Sk") or 0x1F000 <= ord(char) <= 0x1FAFF


def is_emoji_only(text: str) -> bool:
    """True when `text` has at least one emoji or face code and nothing else but whitespace."""
    rest = _WECHAT_FACE.sub(" ", text)
    has_face = rest != text
    has_emoji = any(_is_emoji_char(c) and not c.isspace() and c not in _EMOJI_JOINERS for c in rest)
    return (has_face or has_emoji) and all(_is_emoji_char(c) for c in rest)


def normalize(text: str, max_chars: int = MAX_CHARS) -> NormalizedText:
    """Return the text the NLU should see, plus what the channel must know about it."""
    text = _KEYCAP.sub(r"\1", text)
    emoji_only = is_emoji_only(text)
    cleaned = "".join(
        part if _CHINESE_PUNCTUATION.fullmatch(part) else unicodedata.normalize("NFKC", part)
        for part in _CHINESE_PUNCTUATION.split(text)
    )
    cleaned = _strip_invisible(cleaned)
    cleaned = _SPACES.sub(" ", cleaned)
    cleaned = _NEWLINES.sub("\n", cleaned).strip()
    cleaned = _DIGIT_GAP.sub("", cleaned)
    cleaned = cleaned.lstrip("/ \n")
    truncated = len(cleaned) > max_chars
    if truncated:
        cleaned = cleaned[:max_chars].rstrip()
    return NormalizedText(text=cleaned, truncated=truncated, emoji_only=emoji_only)
