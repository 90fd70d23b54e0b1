"""Working days as China counts them: public holidays off, adjusted weekends (调休) worked.

The State Council publishes each year's holiday schedule in November or December; the
`chinese-calendar` package carries the published years. A year it does not carry yet is filled
from `WORKING_CALENDAR_FILE`, a JSON file the utility writes from the State Council's notice:

    {"holidays": ["2027-01-01", ...], "workdays": ["2027-02-07", ...]}

`holidays` are days off that would be weekdays, `workdays` are weekend days worked; the file wins
over the package for the days it names. A year neither knows is counted Monday to Friday, with
one warning in the log per year.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar

from backend.core.clock import LOCAL_ZONE

logger = logging.getLogger(__name__)


class WorkCalendar:
    def __init__(self, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> None:
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        self._configured_years = {d.year for d in self.holidays | self.workdays}
        self._warned: set[int] = set()

    @classmethod
    def from_file(cls, path: Path | None) -> WorkCalendar:
        if path is None:
            return cls()
        try:
            table = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                (date.fromisoformat(day) for day in table.get("holidays", [])),
                (date.fromisoformat(day) for day in table.get("workdays", [])),
            )
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"WORKING_CALENDAR_FILE {path} is not a readable holiday table: {exc}") from exc

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._configured_years and day.year not in self._warned:
                self._warned.add(day.year)
                logger.warning(
                    "no holiday table for %s (chinese-calendar has none, WORKING_CALENDAR_FILE names none of its "
                    "days): counting Monday to Friday",
                    day.year,
                )
            return day.weekday() < 5

    def add(self, start: datetime, days: int) -> datetime:
        """The same local time `days` working days after `start`."""
        moment = start.astimezone(LOCAL_ZONE)
        left = days
        while left > 0:
            moment += timedelta(days=1)
            if self.is_working_day(moment.date()):
                left -= 1
        return moment

    def between(self, start: datetime, end: datetime) -> int:
        """Whole working days from `start` to `end` (the days after start's day up to end's), local time."""
        current = start.astimezone(LOCAL_ZONE).date()
        last = end.astimezone(LOCAL_ZONE).date()
        days = 0
        while current < last:
            current += timedelta(days=1)
            if self.is_working_day(current):
                days += 1
        return days


@lru_cache
def work_calendar(path: Path | None = None) -> WorkCalendar:
    """The calendar with the holiday table at `path` (WORKING_CALENDAR_FILE), built once per path."""
    return WorkCalendar.from_file(path)
