"""Report periods: a day, an ISO week or a month, in Asia/Shanghai, never one that has not begun."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from backend.core import clock
from backend.core.errors import Invalid

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str  # daily | weekly | monthly
    label: str  # 2026-11-03, 2026-W45, 2026-11
    first: date
    last: date  # inclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=clock.LOCAL_ZONE)

    @property
    def end(self) -> datetime:
        """The moment after the period (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=clock.LOCAL_ZONE)


def _checked(period: Period) -> Period:
    today = clock.local_today()
    if period.first > today:
        raise Invalid(f"报表周期 {period.label} 尚未开始，不能生成报表", code="period_in_future")
    if period.first < EARLIEST:
        raise Invalid(f"报表周期 {period.label} 早于 {EARLIEST.year} 年，没有数据", code="period_out_of_range")
    return period


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"日期 {value} 无效，请使用 YYYY-MM-DD 格式", code="invalid_date") from None


def day(value: str) -> Period:
    first = _date(value)
    return _checked(Period("daily", first.isoformat(), first, first))


def week(value: str) -> Period:
    """`YYYY-Www` (ISO week), or a date inside the week."""
    found = _WEEK.match(value)
    if found:
        try:
            first = date.fromisocalendar(int(found[1]), int(found[2]), 1)
        except ValueError:
            raise Invalid(f"周 {value} 不存在", code="invalid_week") from None
    else:
        inside = _date(value)
        first = inside - timedelta(days=inside.weekday())
    year, number, _ = first.isocalendar()
    return _checked(Period("weekly", f"{year}-W{number:02d}", first, first + timedelta(days=6)))


def month(value: str) -> Period:
    found = _MONTH.match(value)
    try:
        if not found:
            raise ValueError(value)
        first = date(int(found[1]), int(found[2]), 1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    except ValueError:
        raise Invalid(f"月份 {value} 无效，请使用 YYYY-MM 格式", code="invalid_month") from None
    return _checked(Period("monthly", f"{first:%Y-%m}", first, following - timedelta(days=1)))
