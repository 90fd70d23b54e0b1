"""The device events' job, run by the notifier: apply what the backend stored. The backend wakes the
notifiers when it stores an event; the job runs at most every `NOTIFIER_DEVICE_EVENT_SECONDS`, so a
burst is applied a large batch at a time."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.core.scheduling import Job
from backend.devices import service


def apply_stored(factory: sessionmaker[Session], settings: Settings, batch: int) -> None:
    service.process_pending(factory, settings)


JOBS = (Job("device_events", "notifier_device_event_seconds", apply_stored),)
