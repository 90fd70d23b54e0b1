"""A request-scoped unit of work: the session commits when the endpoint returns, rolls back on error.

The commit runs before the answer is sent (`scope="function"`; FastAPI's default for a dependency
with `yield` is after it): a client that reads right after a 2xx sees its write, and a commit that
fails is answered as an error instead of following a success already sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker


def get_tx_session(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session, session.begin():
        yield session


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


TxSessionDep = Annotated[Session, Depends(get_tx_session, scope="function")]
FactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
