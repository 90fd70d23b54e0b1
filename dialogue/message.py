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
#: the NLU's confidence from which a short message's intent alone is taken as a yes or no
SURE = 0.6

ACCOUNT_RE = re.compile(r"(?<!\d)\d{10}(?!\d)")
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
TICKET_RE = re.compile(r"[Qq][Xx]\d{12}")
APPLICATION_RE = re.compile(r"[Yy][Kk]\d{12}")
CHOICE_RE = re.compile(r"^(?:第|选)?\s*([1-9])\s*(?:个|号|项)?$")
_TRAILING = "。.!！~～,，?？ "

YES = frozenset(
    (
        "1 是 是的 是啊 对 对的 对啊 确认 确定 好 好的 好滴 嗯 嗯嗯 恩 可以 行 没错 没问题 提交 就这样"
        " ok OK Ok yes 对头 中 要得 要 需要 系 系啊 係 好嘅 得 冇问题 是滴 嗯呐 好哒 行啊 可以的"
        " 好的呢 嗯好 好吧 对对 对对对 是是 没错的 确认提交 提交吧"
    ).split()
)
NO = frozenset("2 不 不是 否 不要 不用 不需要 不对 没有 不行 no No NO".split())
CANCEL = frozenset(
    (
        "取消 算了 不用了 不要了 不需要了 不报了 不报修了 不查了 不绑了 不绑定了 先不用了 算了吧 那算了"
        " 不用了谢谢 不用了，谢谢 退出 结束 没事了 没事 不办了 暂时不用"
    ).split()
)
# "算了不投诉了", "不报了", "不用了谢谢": leaving what was being done
CANCEL_RE = re.compile(
    r"^((算了|不用了|不要了|取消)[，,。!！吧啊呀]*)?不(投诉|报修|报|查|绑定?|办|要|用)了[吧啊呀，,。!！]*(谢谢)?$"
)
# "算了，我先自己试试", "不用了，回头再说": leaving it for now, with the reason
CANCEL_FOR_NOW_RE = re.compile(
    r"^(算了|不用了|不要了|先不用了?|先不报了?)[，,。!！吧啊呀\s]*"
    r"((我)?(先|还是)?(自己)?(先|再)?(试试|试一下|看看|弄弄?|处理|检查|想想)|(以后|回头|改天|过会儿?|等会儿?)再说)[吧啊呀，,。!！]*(谢谢)?$"
)
RESTART = frozenset({"restart", "重新开始", "重来", "从头开始", "重置"})
CONTINUE_RE = re.compile(r"^(继续|接着|回到)(刚才|之前|上面)?的?(报修|那个|的)?(吧|呀)?$|^继续报修$|^接着报$")
# The customer corrects what they said ("不对，是5单元", "错了，应该是…").
CORRECTION_RE = re.compile(r"^(不对|不是|错了|说错了|写错了|更正|改一下|改成|应该是)[，,。:：\s]*(应该是|是|改成|在)?")


# What an address has: a numbered building part, or a named street, village or estate ("和平路",
# not "路边" or "马路上").
ADDRESS_HINT = re.compile(
    r"\d+\s*(号|栋|幢|单元|室|楼|层|组)|[\u4e00-\u9fa5](?<![马公过走在上下大小])(路|街|巷|弄|大道)(?![边旁灯面上])|"
    r"[\u4e00-\u9fa5]{2}村|小区|苑|花园|镇|乡|社区|大厦|广场|公寓|新村|屯"
)
ADDRESS_FILLER = re.compile(r"^(地址|我的地址|住址|详细地址|我家|我们家|家里|我家住|我住|住|就)?(是|在|住在|：|:)?\s*")
# "我们小区", "这个村": a place word that names no place
NOT_A_PLACE = re.compile(r"(我们|咱们|我家|我们家|这个|那个|这边|那边|你们|他们|本)(小区|村|镇|街道?|社区|楼)")
# what follows an address in a question about it: "…5栋的网格员是谁", "…那边停电了吗"
ADDRESS_TAIL = re.compile(
    r"(的|那边|这边|那里|这里|附近|一带|旁边)?(网格员|停电|没电|来电|供电|有没有|是不是|什么|怎么|谁|吗|呢|电线|冒|着火|起火|"
    r"(全|都|也)?停|断电|跳闸).*$|(那边|这边|那里|这里|附近|一带|旁边)$"
)
NEARBY = re.compile(r"(那边|这边|那里|这里|附近|一带|旁边)$")
SEGMENTS = re.compile(r"[，,。；;！!？?\s]+")
NUMBERS = re.compile(r"(电话|手机|号码|户号)?[:：]?\s*\d{10,11}")


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
        if self.intent == "affirm" and self.confidence >= SURE and len(bare) <= 8:
            return True
        if self.intent == "deny" and self.confidence >= SURE and len(bare) <= 8:
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
        return (
            bare in CANCEL
            or bare.rstrip("吧啊呀") in CANCEL
            or CANCEL_RE.match(bare) is not None
            or CANCEL_FOR_NOW_RE.match(bare) is not None
        )

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
        return _valid(self.entities.get("account_no"), ACCOUNT_RE) or _first(ACCOUNT_RE, self.text)

    def phone(self) -> str | None:
        return _valid(self.entities.get("phone"), PHONE_RE) or _first(PHONE_RE, self.text)

    def ticket_no(self) -> str | None:
        found = _valid(self.entities.get("ticket_no"), TICKET_RE) or _first(TICKET_RE, self.text)
        return found.upper() if found else None

    def application_no(self) -> str | None:
        found = _valid(self.entities.get("application_no"), APPLICATION_RE) or _first(APPLICATION_RE, self.text)
        return found.upper() if found else None

    def address(self) -> str | None:
        """The address the message gives: the part of it that reads as one ("和平路29号3栋…", numbers
        and fillers like "我家在" left out), which the NLU's address entity may only partly cover."""
        entity = self.entities.get("address")
        text = NOT_A_PLACE.sub("", self.text)
        segments = [
            ADDRESS_TAIL.sub("", ADDRESS_FILLER.sub("", NUMBERS.sub("", part))) for part in SEGMENTS.split(text)
        ]
        candidates = [part for part in segments if len(part) >= 4 and ADDRESS_HINT.search(part)]
        if entity and ADDRESS_HINT.search(entity):
            candidates = [part for part in candidates if entity in part] or [entity]
        return max(candidates, key=len)[:200] if candidates else None

    def only_address(self) -> str | None:
        """The address when the message says nothing else ("我住3栋2单元501", "就是5栋那边")."""
        address = self.address()
        if address is None:
            return None
        rest = NEARBY.sub("", ADDRESS_FILLER.sub("", self.bare.replace(address, "")))
        return address if len(rest) < 2 else None

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


def _valid(value: str | None, pattern: re.Pattern[str]) -> str | None:
    """An entity value only when it is the whole number it claims to be (the NLU may tag "3单元")."""
    return value if value and pattern.fullmatch(value) else None


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(0) if match else None
