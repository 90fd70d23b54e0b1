"""Daily numbers such as QX202611220001: a counter row per prefix and local day, bumped atomically."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    URL,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.core import clock
from backend.core.db import Base
from backend.core.errors import Unavailable


class DailySequence(Base):
    __tablename__ = "daily_sequence"
    __table_args__ = (UniqueConstraint("prefix", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(8))
    day: Mapped[str] = mapped_column(String(8))  # local yyyymmdd
    value: Mapped[int] = mapped_column(Integer, default=0)


def next_number(session: Session, prefix: str) -> str:
    """`prefix` + local yyyymmdd + 4 digits, unique per day even under concurrent callers.

    On PostgreSQL the counter is bumped in a statement that commits by itself, so concurrent
    tickets do not queue behind one another's row lock until commit (a rolled-back caller leaves a
    gap, as sequences do). SQLite serializes writers anyway, so there it joins the caller's
    transaction.
    """
    day = clock.now().astimezone(clock.LOCAL_ZONE).strftime("%Y%m%d")
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        engine = bind.engine if isinstance(bind, Connection) else bind
        with _counter_engine(engine.url).connect() as conn:
            value = int(conn.execute(_BUMP["postgresql"], {"prefix": prefix, "day": day}).scalar_one())
    else:
        value = int(session.execute(_BUMP["sqlite"], {"prefix": prefix, "day": day}).scalar_one())
    if value > 9999:
        raise Unavailable(f"今日{prefix}编号已用尽，请联系系统管理员", code="numbers_exhausted")
    return f"{prefix}{day}{value:04d}"


@lru_cache
def _counter_engine(url: URL) -> Engine:
    """PostgreSQL connections on which each statement is its own transaction (one round trip) and
    does not wait for its WAL flush: the caller's commit flushes the WAL up to there anyway."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=8)

    @event.listens_for(engine, "connect")
    def _no_flush_wait(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        with dbapi_conn.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
        dbapi_conn.commit()

    return engine


def _upsert(insert_fn: Any) -> Any:
    table = cast(Table, DailySequence.__table__)
    return (
        insert_fn(table)
        .values(prefix=bindparam("prefix"), day=bindparam("day"), value=1)
        .on_conflict_do_update(index_elements=["prefix", "day"], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )


# Built once per dialect: run for every ticket.
_BUMP = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}
