"""Daily numbers (QX/YK + local yyyymmdd + 4 digits) under concurrent callers, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.errors import Unavailable
from backend.core.sequence import DailySequence, next_number


def _number(factory: sessionmaker[Session], prefix: str) -> str:
    with factory() as session, session.begin():
        return next_number(session, prefix)


def test_concurrent_callers_get_consecutive_distinct_numbers(session_factory: sessionmaker[Session]) -> None:
    """160 numbers taken by 16 threads at once are 0001…0160 of today, each handed out once."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        numbers = list(pool.map(lambda _: _number(session_factory, "QX"), range(160)))
    today = clock.now().astimezone(clock.LOCAL_ZONE).strftime("%Y%m%d")
    assert sorted(numbers) == [f"QX{today}{n:04d}" for n in range(1, 161)]


def test_each_prefix_counts_on_its_own(session_factory: sessionmaker[Session]) -> None:
    assert [_number(session_factory, p)[-4:] for p in ("QX", "YK", "QX", "YK", "YK")] == [
        "0001", "0001", "0002", "0002", "0003",
    ]  # fmt: skip


def test_a_number_after_9999_is_refused(session_factory: sessionmaker[Session]) -> None:
    _number(session_factory, "QX")
    with session_factory() as session, session.begin():
        session.execute(update(DailySequence).values(value=9999))
    with pytest.raises(Unavailable) as refused:
        _number(session_factory, "QX")
    assert refused.value.code == "numbers_exhausted"
