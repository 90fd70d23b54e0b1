"""The outage pool's periodic jobs, run by the notifier (`backend/scheduled.py`):

- planned and temporary outages announced the required time ahead (a service standard);
- an announced outage becomes active at its start, with its "停电开始" notice to its customers;
- an outage in progress whose estimated restoration has passed asks its fault ticket's worker and
  the duty dispatchers for a new estimate, once per estimate (the customers are told the new one
  when it is set, `POST /outages/{id}/estimate` or `PATCH /outages/{id}`).

Several notifiers may run them at once: each push's dedup key keeps it single, and the outages
starting are held while they start (`service.start_due`), so a run never starts one that another
run, or a dispatcher calling it off, holds. `now` stands in for the clock (tests).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.core.db import run_in_pages
from backend.core.scheduling import Job, paged
from backend.outages import service
from backend.outages.notices import check_notice_lead


def lifecycle(factory: sessionmaker[Session], settings: Settings, batch: int, *, now: datetime | None = None) -> None:
    run_in_pages(factory, partial(service.start_due, limit=batch, now=now))
    run_in_pages(factory, partial(service.ask_for_estimates, settings=settings, limit=batch, now=now))


JOBS = (
    Job("outage_notice_lead", "notifier_sla_seconds", paged(check_notice_lead)),
    Job("outage_lifecycle", "notifier_outage_lifecycle_seconds", lifecycle),
)
