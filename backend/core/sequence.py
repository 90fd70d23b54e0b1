"""Daily numbers such as QX202611220001: a counter row per prefix and local day, bumped atomically."""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.core import clock
from backend.core.db import Base


class DailySequence(Base):
    __tablename__ = "daily_sequence"
    __table_args__ = (UniqueConstraint("prefix", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(8))
    day: Mapped[str] = mapped_column(String(8))  # local yyyymmdd
    value: Mapped[int] = mapped_column(Integer, default=0)


def next_number(session: Session, prefix: str) -> str:
    """`prefix` + local yyyymmdd + 4 digits, unique per day even under concurrent callers."""
    day = clock.now().astimezone(clock.LOCAL_ZONE).strftime("%Y%m%d")
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert_fn(DailySequence).values(prefix=prefix, day=day, value=0).on_conflict_do_nothing())
    value = session.execute(
        update(DailySequence)
        .where(DailySequence.prefix == prefix, DailySequence.day == day)
        .values(value=DailySequence.value + 1)
        .returning(DailySequence.value)
    ).scalar_one()
    if value > 9999:
        raise OverflowError(f"more than 9999 {prefix} numbers today")
    return f"{prefix}{day}{value:04d}"
