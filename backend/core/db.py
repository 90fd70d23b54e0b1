"""Database engine and sessions: SQLite under var/ by default, PostgreSQL through DATABASE_URL."""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TypeVar

from sqlalchemy import Engine, MetaData, Select, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

_Row = TypeVar("_Row")

logger = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain PostgreSQL URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


@lru_cache
def get_engine(url: str) -> Engine:
    return make_engine(url)


class WriterTurn:
    """Writers of one SQLite file, in every process, queue here for their turn before they write.

    SQLite lets one transaction write at a time; a writer that finds the file locked sleeps in
    steps of 1 to 100 ms and tries again, so the lock often sits free while writers sleep. Queued on
    a thread lock and an `flock` of `<file>-writer`, the next writer starts the moment the last one
    ends. Nothing depends on it for correctness: SQLite's own lock still guards the data.
    """

    def __init__(self, database: str) -> None:
        self._threads = threading.Lock()
        self._file = open(f"{database}-writer", "a+b")  # held open for the life of the process

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._threads:
            fcntl.flock(self._file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._file, fcntl.LOCK_UN)


@lru_cache
def _writer_turn(database: str) -> WriterTurn:
    return WriterTurn(database)


@contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """Wait for this process's and other processes' SQLite writers (see `WriterTurn`); no-op elsewhere."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with _writer_turn(database)():
        yield


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def skip_locked(session: Session, query: Select[_Row]) -> Select[_Row]:
    """`query` holding the rows it reads until the transaction ends and skipping those another
    transaction holds (PostgreSQL: `FOR NO KEY UPDATE SKIP LOCKED`), for a periodic job that several
    notifiers run: overlapping runs act on different rows, and a row another run changed meanwhile
    is read again and left out when it no longer matches. On SQLite, which writes one transaction at
    a time, the query is unchanged: overlapping runs take turns instead (`writer_turn`)."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, key_share=True)
    return query


def run_in_pages(factory: sessionmaker[Session], page: Callable[..., int | None]) -> bool:
    """Run `page(session, after_id=...)` one transaction a page, from id 0, until it returns None.

    `page` handles a bounded page of rows with ids above `after_id` and returns the last id it
    looked at (None after the last page). When a page collides with a concurrent transaction that
    wrote the same unique rows (another notifier running the same job: the outbox's dedup keys),
    that page is rolled back, the run ends and False is returned; the next run takes up the rest.
    """
    after_id = 0
    while True:
        try:
            with transaction(factory) as session:
                last = page(session, after_id=after_id)
        except IntegrityError as exc:
            logger.info("a concurrent run wrote the same rows first, this run ends here: %s", exc.orig)
            return False
        if last is None:
            return True
        after_id = last
