"""The device events' periodic job, run by the notifier: apply what the backend stored but did not
apply (it stopped, or crashed, between storing an event and applying it). The backend applies each
event right after its answer; this is the net under it."""

from __future__ import annotations

from backend.core.config import Settings
from backend.core.db import get_engine, session_factory
from backend.devices import service


def run(settings: Settings) -> None:
    service.process_pending(session_factory(get_engine(settings.database_url)), settings)
