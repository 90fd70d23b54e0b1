"""Time: aware UTC in the database, Asia/Shanghai for people (working days: `workdays.py`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(UTC)


def local_today() -> date:
    return now().astimezone(LOCAL_ZONE).date()


def to_local(moment: datetime | None) -> datetime | None:
    """The moment in the service's zone, for API answers (naive values are taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_ZONE)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware column that comes back aware on SQLite too (stored as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def within_daily_hours(moment: datetime, start: time, end: time) -> bool:
    """Whether the local time of `moment` falls in [start, end) (a span past midnight when start > end)."""
    local = moment.astimezone(LOCAL_ZONE).time()
    if start == end:
        return True
    return start <= local < end if start < end else (local >= start or local < end)


def add_daily_hours_minutes(start_at: datetime, minutes: int, start: time, end: time) -> datetime:
    """`start_at` plus `minutes` counted only inside the daily hours [start, end), in local time: a
    callback asked for at 19:30 with two hours to go and hours 08:00-20:00 is due at 09:30 next day."""
    if start == end:
        return start_at + timedelta(minutes=minutes)
    moment = start_at.astimezone(LOCAL_ZONE)
    left = timedelta(minutes=minutes)
    while True:
        day_start = moment.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
        if start < end:
            day_end = moment.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
            if moment < day_start:
                moment = day_start
            elif moment >= day_end:
                moment = day_start + timedelta(days=1)
                continue
        else:  # the span passes midnight: [start, 24:00) and [00:00, end)
            day_end = moment.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
            if moment < day_end:
                pass
            elif moment < day_start:
                moment = day_start
                day_end += timedelta(days=1)
            else:
                day_end += timedelta(days=1)
        if moment + left <= day_end:
            return moment + left
        left -= day_end - moment
        moment = day_end
