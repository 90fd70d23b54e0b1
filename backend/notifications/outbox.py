"""Writing pushes to the outbox, and the state machine of a push (`OutboxStatus`): pending, then sent
or dead as the notifier records it, cancelled when withdrawn, pending again when an SMS did not
arrive. Callers pass their own session: a new row commits with their change.

A push whose template asks a question (`PushTemplate.asks`: 回复1已来电…, 回复1-5打分) is recorded
as a prompt of its recipient with it, in the same statement batch, so that the chat can understand
a bare digit that answers it; withdrawing the push withdraws its prompt.

After a commit that added rows, the notifiers are woken through Redis (`pd:notifications:wakeup`);
when Redis is down they find the rows by polling, a little later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, Exists, Table, event, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import get_settings
from backend.core.logs import request_id
from backend.core.redis import get_redis
from backend.notifications import claims, failures
from backend.notifications.enums import OutboxStatus, PromptStatus
from backend.notifications.models import OutboxMessage, Prompt
from backend.notifications.templates import TEMPLATES

logger = logging.getLogger(__name__)

WAKEUP_KEY = "pd:notifications:wakeup"
_WAKE_FLAG = "pd_outbox_wake"
_PENDING = "pd_outbox_pending"
_REDIS_RETRY_SECONDS = 30.0
_KEY_BATCH = 500
_redis_down_until = 0.0


def recipient_key(
    *,
    customer_id: int | None = None,
    worker_id: int | None = None,
    phone: str | None = None,
    wechat_openid: str | None = None,
    wecom_user_id: str | None = None,
) -> str:
    """The ordering key of a recipient: its pushes go out one after the other, in id order."""
    for prefix, value in (
        ("c", customer_id), ("w", worker_id), ("o", wechat_openid), ("u", wecom_user_id), ("p", phone),
    ):  # fmt: skip
        if value is not None:
            return f"{prefix}:{value}"
    raise ValueError("a push needs a recipient")


def push(
    *,
    dedup_key: str,
    template: str,
    params: dict[str, Any],
    customer_id: int | None = None,
    worker_id: int | None = None,
    urgent: bool = False,
    phone: str | None = None,
    wechat_openid: str | None = None,
    wecom_user_id: str | None = None,
    not_before: datetime | None = None,
) -> dict[str, Any]:
    """The row of a pending push, as column values.

    The recipient is one customer or one worker, or (for channel replies to people the backend may
    not know) a bare phone number, WeChat openid or WeCom user id. It goes out from `not_before`
    (default now).
    """
    if customer_id is not None and worker_id is not None:
        raise ValueError("a push goes to exactly one customer or one worker")
    key = recipient_key(
        customer_id=customer_id, worker_id=worker_id, phone=phone, wechat_openid=wechat_openid,
        wecom_user_id=wecom_user_id,
    )  # fmt: skip
    return {
        "dedup_key": dedup_key,
        "template": template,
        "params": params,
        "customer_id": customer_id,
        "worker_id": worker_id,
        "urgent": urgent,
        "recipient_key": key,
        "phone": phone,
        "wechat_openid": wechat_openid,
        "wecom_user_id": wecom_user_id,
        "status": OutboxStatus.pending.value,
        "attempts": 0,
        "next_attempt_at": not_before or clock.now(),
        "created_at": clock.now(),
        "trace_id": request_id.get(),
    }


def enqueue(session: Session, **fields: Any) -> OutboxMessage:
    """Add a push (`push`'s fields) unless one with the same key exists; returns the row that holds the key.

    The row is inserted at the session's next flush (its `id` is set then), with the caller's change.
    """
    values = push(**fields)
    pending: dict[str, OutboxMessage] = session.info.setdefault(_PENDING, {})
    existing = pending.get(values["dedup_key"])
    if existing is not None and existing not in session:  # added in a savepoint since rolled back
        existing = None
    if existing is None:
        # No autoflush: an outage enqueues thousands of rows, inserted together at the next flush.
        with session.no_autoflush:
            existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == values["dedup_key"]))
    if existing is not None:
        return existing
    row = OutboxMessage(**values)
    session.add(row)
    pending[row.dedup_key] = row
    session.info[_WAKE_FLAG] = True
    prompts = _prompts([values])
    if prompts:
        session.add(Prompt(**prompts[0]))
    return row


_OUTBOX = cast(Table, OutboxMessage.__table__)
# Built once per dialect (hot path): INSERT ... ON CONFLICT (dedup_key) DO NOTHING.
_INSERT_NEW = {
    "postgresql": postgresql.insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"]),
    "sqlite": sqlite.insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"]),
}
_INSERT_PROMPTS = {
    "postgresql": postgresql.insert(Prompt).on_conflict_do_nothing(index_elements=["dedup_key"]),
    "sqlite": sqlite.insert(Prompt).on_conflict_do_nothing(index_elements=["dedup_key"]),
}


def insert_now(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert pushes (`push`'s rows) at once, in one statement, skipping keys already there.

    For the hot path of a new ticket, where `enqueue`'s lookup and the ORM flush cost more than the
    work; a key enqueued in this session but not yet flushed is not seen.
    """
    dialect = session.get_bind().dialect.name
    session.execute(_INSERT_NEW[dialect], rows)
    prompts = _prompts(rows)
    if prompts:  # a push already there has its prompt already
        session.execute(_INSERT_PROMPTS[dialect], prompts)
    session.info[_WAKE_FLAG] = True


def enqueue_to_customers(
    session: Session,
    *,
    dedup_prefix: str,
    template: str,
    params: Iterable[tuple[int, dict[str, Any]]],
    urgent: bool,
    not_before: datetime | None = None,
) -> int:
    """One push per (customer id, params), keyed `<dedup_prefix><customer id>`, in a few statements:
    the keys already there are looked up in batches and the rest inserted together. For an outage's
    thousands of notices, where `enqueue`'s row-by-row lookups and ORM flush took seconds.
    Returns how many customers the pushes address (the new ones and those enqueued before)."""
    wanted = {f"{dedup_prefix}{customer_id}": (customer_id, values) for customer_id, values in params}
    keys = list(wanted)
    existing: set[str] = set()
    for start in range(0, len(keys), _KEY_BATCH):
        batch = keys[start : start + _KEY_BATCH]
        existing.update(session.scalars(select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key.in_(batch))))
    moment = clock.now()
    trace_id = request_id.get()
    new_rows = [
        {
            "dedup_key": key,
            "template": template,
            "params": values,
            "customer_id": customer_id,
            "urgent": urgent,
            "recipient_key": recipient_key(customer_id=customer_id),
            "status": OutboxStatus.pending.value,
            "attempts": 0,
            "next_attempt_at": not_before or moment,
            "created_at": moment,
            "trace_id": trace_id,
        }
        for key, (customer_id, values) in wanted.items()
        if key not in existing
    ]
    if new_rows:
        session.execute(insert(OutboxMessage), new_rows)
        prompts = _prompts(new_rows)
        if prompts:
            session.execute(insert(Prompt), prompts)
        session.info[_WAKE_FLAG] = True
    return len(wanted)


def _prompts(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The prompts of those pushes (column values) whose template asks a question."""
    found = []
    for row in rows:
        template = TEMPLATES.get(row["template"])
        if template is None or template.asks is None:
            continue
        found.append(
            {
                "kind": template.asks,
                "status": PromptStatus.open.value,
                "customer_id": row.get("customer_id"),
                "phone": row.get("phone"),
                "wechat_openid": row.get("wechat_openid"),
                "ticket_no": row["params"].get("ticket_no"),
                "outage_id": row["params"].get("outage_id"),
                "dedup_key": row["dedup_key"],
                "asked_at": row["next_attempt_at"],
            }
        )
    return found


def enqueued(dedup_key: ColumnElement[str]) -> Exists:
    """EXISTS of a push with this key (an SQL expression), for queries that skip what was enqueued."""
    return exists().where(OutboxMessage.dedup_key == dedup_key)


def unsent(session: Session, *, dedup_prefix: str) -> int:
    """How many pushes whose key starts with `dedup_prefix` are not sent (pending, or dead)."""
    query = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.dedup_key.startswith(dedup_prefix, autoescape=True),
        OutboxMessage.status.in_((OutboxStatus.pending.value, OutboxStatus.dead.value)),
    )
    return int(session.scalar(query) or 0)


def withdraw(session: Session, *, dedup_prefix: str | Sequence[str], reason: str) -> int:
    """Cancel the pending pushes whose key starts with `dedup_prefix` (or one of several), e.g. the
    notices of an outage that was called off, and the prompts they would have asked; returns how
    many. A row a notifier holds right now may already be on its way to the provider: it is left
    to go out.
    """
    prefixes = [dedup_prefix] if isinstance(dedup_prefix, str) else list(dedup_prefix)
    if not prefixes:
        return 0
    moment = clock.now()
    withdrawn = session.scalars(
        update(OutboxMessage)
        .where(
            or_(*(OutboxMessage.dedup_key.startswith(prefix, autoescape=True) for prefix in prefixes)),
            OutboxMessage.status == OutboxStatus.pending.value,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < moment),
        )
        .values(status=OutboxStatus.cancelled.value, last_error=reason, claim_token=None, sending_channel=None)
        .returning(OutboxMessage.dedup_key)
        .execution_options(synchronize_session="fetch")
    ).all()
    for start in range(0, len(withdrawn), _KEY_BATCH):
        session.execute(
            update(Prompt)
            .where(
                Prompt.dedup_key.in_(withdrawn[start : start + _KEY_BATCH]), Prompt.status == PromptStatus.open.value
            )
            .values(status=PromptStatus.withdrawn.value)
            .execution_options(synchronize_session=False)
        )
    return len(withdrawn)


def settled(row: OutboxMessage) -> dict[str, Any]:
    """What else a push's row changes in the write that marks it sent or given up: the secret params
    it no longer needs (a bind code) are masked."""
    template = TEMPLATES.get(row.template)
    if template is None or not template.secret:
        return {}
    return {"params": template.without_secrets(row.params)}


def sent(
    session: Session, row: OutboxMessage, token: str, *, channel: str | None, provider_msg_id: str | None,
    at: datetime, merged: Sequence[OutboxMessage] = (),
) -> bool:  # fmt: skip
    """A claimed push went out by `channel`, and the pushes `merged` into its text with it; False when
    its claim had lapsed meanwhile (the row is then left as its new holder finds it). Commits."""
    written = claims.finish(
        session, row.id, token, status=OutboxStatus.sent.value, channel=channel, provider_msg_id=provider_msg_id,
        sent_at=at, attempts=row.attempts + 1, last_error=None, **settled(row),
    )  # fmt: skip
    for other in merged:
        other.status, other.channel, other.sent_at, other.merged_into_id = OutboxStatus.sent.value, channel, at, row.id
    session.commit()
    return written


def dead(session: Session, row: OutboxMessage, token: str, *, error: str | None, attempts: int | None = None) -> None:
    """A claimed push is given up (`error` says why); `attempts`, when given, counts the last one. Commits."""
    counted = {} if attempts is None else {"attempts": attempts}
    claims.finish(session, row.id, token, status=OutboxStatus.dead.value, last_error=error, **counted, **settled(row))


def send_again_avoiding(row: OutboxMessage, channel: str, *, code: str | None, at: datetime) -> bool:
    """A sent push did not arrive by `channel` (a delivery report with the provider's `code`): pending
    again at once, to go out by another channel; True. A push whose secret was masked when it was sent
    cannot go out again: it ends dead; False."""
    row.avoid_channel, row.delivery_error = channel, code or "undelivered"
    row.last_error = f"{failures.UNDELIVERED_SMS if channel == 'sms' else channel + ' not delivered'}: {code}"[:500]
    template = TEMPLATES.get(row.template)
    if template is not None and template.secret:
        row.status = OutboxStatus.dead.value
        return False
    row.status, row.next_attempt_at = OutboxStatus.pending.value, at
    return True


def wake_notifiers(redis_client: Any) -> None:
    """Nudge a waiting notifier; without Redis the notifiers poll, so failures only cost latency."""
    global _redis_down_until
    if time.monotonic() < _redis_down_until:
        return
    try:
        redis_client.pipeline(transaction=False).lpush(WAKEUP_KEY, "1").ltrim(WAKEUP_KEY, 0, 99).execute()
    except RedisError as exc:
        _redis_down_until = time.monotonic() + _REDIS_RETRY_SECONDS
        logger.warning("outbox: Redis unavailable (%s), notifiers will find the rows by polling", exc)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    session.info.pop(_PENDING, None)
    if not session.info.pop(_WAKE_FLAG, False):
        return
    try:
        url = get_settings().redis_url
    except ValueError:  # settings incomplete (a script or a test without tokens): polling will do
        return
    wake_notifiers(get_redis(url))


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_WAKE_FLAG, None)
    session.info.pop(_PENDING, None)
