"""A request-scoped unit of work: the session commits when the endpoint returns, rolls back on error.

The commit runs before the answer is sent (`scope="function"`; FastAPI's default for a dependency
with `yield` is after it): a client that reads right after a 2xx sees its write, and a commit that
fails is answered as an error instead of following a success already sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from backend.core.deps import end_session


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_tx_session(request: Request) -> AsyncIterator[Session]:
    """Opening the session does no I/O, so only its end (commit or rollback, then close) goes to a
    thread; shielded, so that a cancelled request still hands its connection back."""
    session: Session = request.app.state.session_factory()
    session.begin()
    succeeded = False
    try:
        yield session
        succeeded = True
    finally:
        await end_session(_finish, session, succeeded)


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


TxSessionDep = Annotated[Session, Depends(get_tx_session, scope="function")]
FactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
