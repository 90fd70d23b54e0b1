"""Adding a row whose unique key may already exist: 409 instead of an IntegrityError."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.db import Base
from backend.core.errors import Conflict


def add_unique(session: Session, row: Base, message: str) -> None:
    """Flush `row` inside a savepoint; a unique-key clash becomes Conflict(`duplicate`)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        raise Conflict(message, code="duplicate") from exc
