"""The figures every process's `/metrics` reads from the database at each scrape (the backend's and
the notifier's): the outbox's backlog and lag, the service standards' warnings and breaches, and the
hand-off queue's waits. The hand-off figures read the handoff table directly until its domain offers
a summary of its queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.handoffs.models import Handoff
from backend.notifications.models import OutboxMessage
from backend.sla.models import SlaEvent
from backend.sla.service import BREACH, STANDARDS, WARNING

UNSENT = ("pending", "dead")


class DatabaseCollector(Collector):
    """Figures read from the database at each scrape: the outbox's backlog and lag, the service
    standards' warnings and breaches, and the hand-off queue's waits."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[Any]:
        now = clock.now()
        with self.factory() as session:
            # Only the small sets (the status index finds them); sent rows are counted by the
            # notifiers' powerdesk_pushes_total instead of a scan of the whole outbox.
            by_status = dict(
                session.execute(
                    select(OutboxMessage.status, func.count(OutboxMessage.id))
                    .where(OutboxMessage.status.in_(UNSENT))
                    .group_by(OutboxMessage.status)
                ).all()
            )
            oldest_due = session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now
                )
            )
            events = session.execute(
                select(SlaEvent.standard, SlaEvent.step, func.count(SlaEvent.id)).group_by(
                    SlaEvent.standard, SlaEvent.step
                )
            ).all()
            waiting, longest = session.execute(
                select(func.count(Handoff.id), func.min(Handoff.created_at)).where(Handoff.status == "waiting")
            ).one()
        outbox = GaugeMetricFamily("powerdesk_outbox_messages", "Outbox rows not sent, by status", labels=["status"])
        for status in UNSENT:
            outbox.add_metric([status], by_status.get(status, 0))
        yield outbox
        yield GaugeMetricFamily(
            "powerdesk_outbox_lag_seconds",
            "Age of the oldest push that is due and not sent (0: none waiting)",
            value=max((now - oldest_due).total_seconds(), 0.0) if oldest_due else 0.0,
        )
        sla = CounterMetricFamily(
            "powerdesk_sla_events", "Service-standard warnings and breaches recorded", labels=["standard", "step"]
        )
        recorded = {(standard, step): count for standard, step, count in events}
        for standard in STANDARDS:  # every series exists from the start, at 0, for the alert rules
            for step in (WARNING, BREACH):
                sla.add_metric([standard, step], recorded.get((standard, step), 0))
        yield sla
        yield GaugeMetricFamily("powerdesk_handoffs_waiting", "Conversations waiting for a person", value=waiting)
        yield GaugeMetricFamily(
            "powerdesk_handoff_longest_wait_seconds",
            "How long the longest-waiting conversation has waited for a person",
            value=(now - longest).total_seconds() if longest else 0.0,
        )
