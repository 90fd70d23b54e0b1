"""How values are said to a customer: masked numbers, times and dates in Beijing time, money."""

from __future__ import annotations

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
