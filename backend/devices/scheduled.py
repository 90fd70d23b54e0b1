"""The device events' job, run by the notifier: apply what the backend stored. The backend wakes the
notifiers when it stores an event; the job runs at most every `NOTIFIER_DEVICE_EVENT_SECONDS`, so a
burst is applied a large batch at a time."""

from __future__ import annotations

from backend.core.config import Settings
from backend.core.db import get_engine, session_factory
from backend.devices import service


def run(settings: Settings) -> None:
    service.process_pending(session_factory(get_engine(settings.database_url)), settings)
