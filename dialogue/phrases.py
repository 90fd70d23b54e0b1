"""How values are said to a customer: masked numbers, times and dates in Beijing time, money."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

SHANGHAI = timezone(timedelta(hours=8))


def mask_account(account_no: str) -> str:
    return account_no[:2] + "*" * (len(account_no) - 4) + account_no[-2:] if len(account_no) > 4 else account_no


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else phone


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed.astimezone(SHANGHAI)


def now() -> datetime:
    return datetime.now(SHANGHAI)


def time_phrase(value: str | None, reference: datetime | None = None) -> str:
    """`今天14:30`, `明天09:00`, `11月24日14:30` for an ISO time, in Beijing time."""
    moment = parse_time(value)
    if moment is None:
        return ""
    today = (reference or now()).astimezone(SHANGHAI).date()
    clock = moment.strftime("%H:%M")
    days = (moment.date() - today).days
    if days == 0:
        return f"今天{clock}"
    if days == 1:
        return f"明天{clock}"
    if days == -1:
        return f"昨天{clock}"
    return f"{moment.month}月{moment.day}日{clock}"


def date_phrase(value: str | None) -> str:
    """`11月24日` for an ISO date or time."""
    if not value:
        return ""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return ""
    return f"{day.month}月{day.day}日"


def money(value: Any) -> str:
    return f"{float(value or 0):.2f}"


def month_of(period: str) -> str:
    """`10` for the period `2026-10`."""
    return str(int(period[5:7])) if len(period) >= 7 and period[5:7].isdigit() else period


def listing(lines: list[str]) -> str:
    """Numbered lines: `1. …` one per line."""
    return "\n".join(f"{number}. {line}" for number, line in enumerate(lines, start=1))


_NUMERALS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_NUMBER = r"(\d{1,2}|[一二两三四五六七八九十]{1,3})"
_IN_HOURS = re.compile(_NUMBER + r"\s*个?\s*(半)?\s*(小时|钟头)")
_HALF_HOUR = re.compile(r"半\s*个?\s*(小时|钟头)")
_IN_MINUTES = re.compile(_NUMBER + r"\s*分钟")
_AT_CLOCK = re.compile(r"(上午|早上|中午|下午|晚上|傍晚|凌晨)?\s*" + _NUMBER + r"\s*[点:：时]\s*(半|\d{1,2})?")


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text.startswith("十"):
        return 10 + (_NUMERALS.get(text[1:], 0) if len(text) > 1 else 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _NUMERALS[tens] * 10 + (_NUMERALS.get(ones, 0) if ones else 0)
    return _NUMERALS.get(text, 0)


def time_in(text: str, reference: datetime | None = None) -> datetime | None:
    """The moment a worker's words name: "3小时" / "两个半小时" / "半小时" / "40分钟" from now,
    "18点" / "下午6点半" / "18:30" today (tomorrow when it has passed); None when they name none."""
    now_ = (reference or now()).astimezone(SHANGHAI)
    match = _IN_HOURS.search(text)
    if match:
        return now_ + timedelta(hours=_number(match.group(1)), minutes=30 if match.group(2) else 0)
    if _HALF_HOUR.search(text):
        return now_ + timedelta(minutes=30)
    match = _IN_MINUTES.search(text)
    if match:
        return now_ + timedelta(minutes=_number(match.group(1)))
    match = _AT_CLOCK.search(text)
    if match:
        part, hour = match.group(1), _number(match.group(2))
        minute = 30 if match.group(3) == "半" else int(match.group(3)) if match.group(3) else 0
        if part in ("下午", "晚上", "傍晚") and hour < 12:
            hour += 12
        if hour > 23 or minute > 59:
            return None
        moment = now_.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return moment if moment > now_ else moment + timedelta(days=1)
    return None
