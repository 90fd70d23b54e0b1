"""Writing pushes to the outbox. Callers pass their own session: the row commits with their change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.notifications.models import OutboxMessage


def enqueue(
    session: Session,
    *,
    dedup_key: str,
    template: str,
    params: dict[str, Any],
    customer_id: int | None = None,
    worker_id: int | None = None,
    urgent: bool = False,
) -> OutboxMessage:
    """Add a push unless one with the same key exists; returns the row that holds the key."""
    if (customer_id is None) == (worker_id is None):
        raise ValueError("a push goes to exactly one customer or one worker")
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key))
    if existing is not None:
        return existing
    row = OutboxMessage(
        dedup_key=dedup_key,
        template=template,
        params=params,
        customer_id=customer_id,
        worker_id=worker_id,
        urgent=urgent,
    )
    session.add(row)
    session.flush()
    return row
