"""The outage pool's periodic jobs, run by the notifier (`backend/notifications/worker.py`):

- an announced outage becomes active at its start, with its "停电开始" notice to its customers;
- an outage in progress whose estimated restoration has passed asks its fault ticket's worker and
  the duty dispatchers for a new estimate, once per estimate (the customers are told the new one
  when it is set, `POST /outages/{id}/estimate` or `PATCH /outages/{id}`).

Several notifiers may run them at once: each push's dedup key keeps it single. `now` stands in for
the clock (tests).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from backend.core.config import Settings
from backend.core.db import get_engine, run_in_pages, session_factory
from backend.outages import service


def run(settings: Settings, batch: int, *, now: datetime | None = None) -> None:
    factory = session_factory(get_engine(settings.database_url))
    run_in_pages(factory, partial(service.start_due, limit=batch, now=now))
    run_in_pages(factory, partial(service.ask_for_estimates, settings=settings, limit=batch, now=now))
