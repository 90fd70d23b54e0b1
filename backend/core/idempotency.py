"""Idempotency keys: the first answer to a key is stored with the request's hash and replayed.

The key row is inserted first, in the same transaction as the work it guards, so a concurrent
retry blocks on the unique constraint until the first commits, then reads the stored answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, String, Table, UniqueConstraint, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from backend.core import clock
from backend.core.clock import UTCDateTime
from backend.core.db import Base, writer_turn
from backend.core.errors import Conflict


class IdempotencyKey(Base):
    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


_TABLE = cast(Table, IdempotencyKey.__table__)
# Built once: run on every repair report.
_CLAIM = insert(_TABLE).returning(_TABLE.c.id)
_ANSWER = update(_TABLE).where(_TABLE.c.id == bindparam("row_id")).values(response=bindparam("response"))


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def run_once(
    factory: sessionmaker[Session],
    *,
    scope: str,
    key: str,
    body: dict[str, Any],
    work: Callable[[Session], dict[str, Any]],
) -> dict[str, Any]:
    """Run `work` once per (scope, key) and return its JSON answer; replay it for retries.

    A retry with a different body is refused (409 `idempotency_key_reused`). Errors raised by
    `work` roll everything back, key included, so a corrected retry may reuse the key.
    """
    digest = request_hash(body)
    with factory() as session, writer_turn(session.get_bind().engine):
        # Core statements, not the unit of work: this runs on every report, and a flush costs more.
        claim = {"scope": scope, "key": key, "request_hash": digest, "created_at": clock.now()}
        try:
            row_id = session.execute(_CLAIM, claim).scalar_one()
        except IntegrityError:
            session.rollback()
        else:
            try:
                answer = work(session)
                session.execute(_ANSWER, {"row_id": row_id, "response": answer})
                session.commit()
            except BaseException:
                session.rollback()
                raise
            return answer
    with factory() as session:
        stored = session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))
    if stored is None or stored.response is None:
        raise Conflict("该请求正在处理中，请稍后重试", code="idempotency_in_progress")
    if stored.request_hash != digest:
        raise Conflict("同一个 Idempotency-Key 不能用于不同的请求内容", code="idempotency_key_reused")
    return stored.response
