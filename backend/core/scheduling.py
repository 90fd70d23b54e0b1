"""Periodic jobs: each domain declares its own (`<domain>/scheduled.py`), `backend/scheduled.py`
lists them all, and the notifier runs them between its rounds, each at its own interval."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.core.db import run_in_pages, writer_turn

#: one run of a job: (session factory, backend settings, rows per transaction)
Run = Callable[[sessionmaker[Session], Settings, int], object]


@dataclass(frozen=True)
class Job:
    name: str
    #: the notifier setting (a `NotifierSettings` field) that holds its interval in seconds
    every: str
    run: Run


def paged(*pages: Callable[..., int | None]) -> Run:
    """A run of page functions `page(session, settings, *, now, after_id, limit)`, each over all its
    rows a page per transaction (`run_in_pages`), all with the same `now`."""

    def run(factory: sessionmaker[Session], settings: Settings, batch: int) -> None:
        now = clock.now()
        for page in pages:
            run_in_pages(factory, partial(page, settings=settings, now=now, limit=batch))

    return run


def in_one_transaction(work: Callable[[Session, Settings], object]) -> Run:
    """A run of `work(session, settings)` in one transaction. On SQLite it waits for its writer turn
    first (`writer_turn`), so that two notifiers on one file run it one after the other, the second
    reading what the first wrote; on PostgreSQL `work` holds the rows it acts on (`skip_locked`)."""

    def run(factory: sessionmaker[Session], settings: Settings, batch: int) -> object:
        with factory() as session, writer_turn(session.get_bind().engine), session.begin():
            return work(session, settings)

    return run
