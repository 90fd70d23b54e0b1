"""One customer (or worker) message as the dialogue sees it, and the plain-word readings of it.

The NLU gives an intent with its confidence and the entities; the channel gives metadata (the
inbound message key, a shared location, emoji only). The readings below are the few words whose
meaning does not need a model: yes and no, a numbered choice, "cancel", "go on". They are read
the same way everywhere, so a customer can rely on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FALLBACK = "nlu_fallback"

ACCOUNT_RE = re.compile(r"(?<!\d)\d{10}(?!\d)")
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
TICKET_RE = re.compile(r"[Qq][Xx]\d{12}")
APPLICATION_RE = re.compile(r"[Yy][Kk]\d{12}")
CHOICE_RE = re.compile(r"^(?:第|选)?\s*([1-9])\s*(?:个|号|项)?$")
_TRAILING = "。.!！~～,，?？ "

YES = frozenset(
    {
        "1",
        "是",
        "是的",
        "是啊",
        "对",
        "对的",
        "对啊",
        "确认",
        "确定",
        "好",
        "好的",
        "好滴",
        "嗯",
        "嗯嗯",
        "恩",
        "可以",
        "行",
        "没错",
        "没问题",
        "提交",
        "就这样",
        "ok",
        "OK",
        "Ok",
        "yes",
        "对头",
        "中",
        "要得",
        "要",
        "需要",
    }
)
NO = frozenset({"2", "不", "不是", "否", "不要", "不用", "不需要", "不对", "没有", "不行", "no", "No", "NO"})
CANCEL = frozenset(
    {
        "取消",
        "算了",
        "不用了",
        "不要了",
        "不需要了",
        "不报了",
        "不报修了",
        "不查了",
        "不绑了",
        "不绑定了",
        "先不用了",
        "算了吧",
        "那算了",
        "不用了谢谢",
        "不用了，谢谢",
        "退出",
        "结束",
        "没事了",
        "没事",
        "不办了",
        "暂时不用",
    }
)
RESTART = frozenset({"restart", "重新开始", "重来", "从头开始", "重置"})
CONTINUE_RE = re.compile(r"^(继续|接着|回到)(刚才|之前|上面)?的?(报修|那个|的)?(吧|呀)?$|^继续报修$|^接着报$")
# The customer corrects what they said ("不对，是5单元", "错了，应该是…").
CORRECTION_RE = re.compile(r"^(不对|不是|错了|说错了|写错了|更正|改一下|改成|应该是)[，,。:：\s]*(应该是|是|改成|在)?")


def _bare(text: str) -> str:
    return text.strip().strip(_TRAILING).strip()


@dataclass(frozen=True)
class Message:
    """What the customer sent, with the NLU's reading and the channel's metadata."""

    text: str
    intent: str = FALLBACK
    confidence: float = 0.0
    #: the NLU's runner-up intents, best first (name, confidence), without the fallback
    ranking: tuple[tuple[str, float], ...] = ()
    entities: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    channel: str = "rest"
    sender_id: str = ""

    # --- what the words say, without a model ---------------------------------------------------

    @property
    def bare(self) -> str:
        return _bare(self.text)

    def yes_no(self) -> bool | None:
        """True for a yes (1, 是, 好的, 可以), False for a no (2, 不是, 不用), else None."""
        bare = self.bare
        if bare in YES:
            return True
        if bare in NO:
            return False
        if self.intent == "affirm" and len(bare) <= 8:
            return True
        if self.intent == "deny" and len(bare) <= 8:
            return False
        return None

    def choice(self, count: int) -> int | None:
        """A numbered option 1..count the customer picked ("2", "第2个"), else None."""
        match = CHOICE_RE.match(self.bare)
        if match and 1 <= int(match.group(1)) <= count:
            return int(match.group(1))
        return None

    def is_cancel(self) -> bool:
        bare = self.bare
        return bare in CANCEL or bare.rstrip("吧啊呀") in CANCEL

    def is_restart(self) -> bool:
        return self.bare.lower() in RESTART

    def is_continue(self) -> bool:
        return CONTINUE_RE.match(self.bare) is not None

    def correction(self) -> str | None:
        """What follows "不对，…" when the customer corrects themselves, else None."""
        match = CORRECTION_RE.match(self.bare)
        if match is None:
            return None
        rest = self.bare[match.end() :].strip()
        return rest or None

    # --- numbers and places -------------------------------------------------------------------

    def account_no(self) -> str | None:
        return self.entities.get("account_no") or _first(ACCOUNT_RE, self.text)

    def phone(self) -> str | None:
        return self.entities.get("phone") or _first(PHONE_RE, self.text)

    def ticket_no(self) -> str | None:
        found = self.entities.get("ticket_no") or _first(TICKET_RE, self.text)
        return found.upper() if found else None

    def application_no(self) -> str | None:
        found = self.entities.get("application_no") or _first(APPLICATION_RE, self.text)
        return found.upper() if found else None

    def location(self) -> tuple[float, float] | None:
        lat, lon = self.metadata.get("latitude"), self.metadata.get("longitude")
        if lat is None or lon is None:
            return None
        return float(lat), float(lon)

    @property
    def key(self) -> str:
        """The inbound message's dedup key (the backend's Idempotency-Key for what it asks for)."""
        return str(self.metadata.get("message_key") or f"{self.channel}:{self.sender_id}:{hash(self.text)}")

    @property
    def emoji_only(self) -> bool:
        return bool(self.metadata.get("emoji_only"))

    def scored(self, intent: str) -> float:
        """The NLU's confidence for `intent` (0 when it is not among its candidates)."""
        if self.intent == intent:
            return self.confidence
        return next((score for name, score in self.ranking if name == intent), 0.0)


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(0) if match else None
