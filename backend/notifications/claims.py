"""Claiming due outbox rows so that several notifiers never hold the same row.

One statement for both databases: `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING id`, the inner
SELECT `FOR UPDATE SKIP LOCKED` on PostgreSQL (concurrent notifiers skip each other's rows) and
atomic on SQLite (one writer at a time). A claim is a lease (`claimed_until`) with a random token;
a notifier that dies loses its rows when the lease ends, and the next holder finds them marked
unsure (`sending_channel`). Only the oldest pending row of each
recipient is claimable (urgent rows skip older non-urgent ones), so a recipient's pushes go out in
order; rows scheduled for later (never tried yet) do not hold the line.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Table, and_, case, exists, or_, select, update
from sqlalchemy.orm import Session

from backend.core import clock
from backend.notifications.enums import OutboxStatus
from backend.notifications.models import OutboxMessage

_table: Table = OutboxMessage.__table__  # type: ignore[assignment]
UNSURE = "unsure"


def claim_due(
    session: Session, *, limit: int, lease_seconds: float, now: datetime | None = None
) -> tuple[str, list[int]]:
    """Claim up to `limit` due rows; returns the claim token and the ids, oldest first. Commits."""
    moment = now or clock.now()
    token = secrets.token_hex(16)
    older = _table.alias("older")
    blocked = exists().where(
        older.c.recipient_key == _table.c.recipient_key,
        older.c.status == OutboxStatus.pending.value,
        older.c.id < _table.c.id,
        or_(older.c.urgent, ~_table.c.urgent),
        # A row scheduled for later (a reminder, a quiet-hours hold) is not in line yet; one that
        # failed or was rate-limited is, and keeps the rows behind it waiting.
        or_(older.c.next_attempt_at <= moment, older.c.attempts > 0, older.c.last_error.is_not(None)),
    )
    due = (
        select(_table.c.id)
        .where(
            _table.c.status == OutboxStatus.pending.value,
            _table.c.next_attempt_at <= moment,
            or_(_table.c.claimed_until.is_(None), _table.c.claimed_until < moment),
            ~blocked,
        )
        .order_by(_table.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=_table)
    ids = session.scalars(
        update(_table)
        .where(_table.c.id.in_(due.scalar_subquery()))
        .values(
            claimed_until=moment + timedelta(seconds=lease_seconds),
            claim_token=token,
            # A token left by an earlier holder means it never finished: the push may have reached
            # the provider, so it is reconciled before it is sent again.
            sending_channel=case((_table.c.claim_token.is_(None), None), else_=UNSURE),
        )
        .returning(_table.c.id)
    ).all()
    session.commit()
    return token, sorted(ids)


def followers(
    session: Session,
    row: OutboxMessage,
    *,
    templates: tuple[str, ...] | None = None,
    dedup_prefix: str | None = None,
    limit: int = 19,
    now: datetime | None = None,
) -> list[OutboxMessage]:
    """Later pending rows of the same recipient that may be merged into `row` (a digest or a summary)."""
    moment = now or clock.now()
    query = select(OutboxMessage).where(
        OutboxMessage.recipient_key == row.recipient_key,
        OutboxMessage.status == OutboxStatus.pending.value,
        OutboxMessage.id > row.id,
        OutboxMessage.next_attempt_at <= moment,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < moment),
    )
    if templates is not None:
        query = query.where(OutboxMessage.template.in_(templates))
    if dedup_prefix is not None:
        query = query.where(OutboxMessage.dedup_key.startswith(dedup_prefix, autoescape=True))
    return list(session.scalars(query.order_by(OutboxMessage.id).limit(limit)))


def finish(session: Session, row_id: int, token: str, **values: object) -> bool:
    """Record the outcome of a claimed row unless the claim was lost; True when written. Commits."""
    result = session.execute(
        update(_table)
        .where(
            and_(_table.c.id == row_id, _table.c.claim_token == token, _table.c.status == OutboxStatus.pending.value)
        )
        .values(claimed_until=None, claim_token=None, sending_channel=None, **values)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]
