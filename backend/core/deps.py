"""FastAPI dependencies: settings, database session, Redis, and bearer-token roles.

Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in its thread
pool, and that hop costs more CPU than the dependency itself (docs/benchmarks.md, backend)."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from enum import Enum
from typing import Annotated

import anyio
from fastapi import Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from redis import Redis
from sqlalchemy.orm import Session

from backend.core.config import Settings


class Role(str, Enum):
    admin = "admin"
    actions = "actions"
    worker = "worker"
    integration = "integration"


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for reads. Opening one does no I/O; closing it returns its connection, in a thread."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(session.close)


async def get_redis_client(request: Request) -> Redis:
    client: Redis = request.app.state.redis
    return client


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
RedisDep = Annotated[Redis, Depends(get_redis_client)]


async def caller_role(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> Role:
    """The role whose token the request carries; 401 when there is none or it is wrong."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token:
        for role, expected in (
            (Role.admin, settings.powerdesk_admin_token),
            (Role.actions, settings.powerdesk_actions_token),
            (Role.worker, settings.powerdesk_worker_token),
            (Role.integration, settings.powerdesk_integration_token),
        ):
            if expected is not None and hmac.compare_digest(token.encode(), expected.encode()):
                return role
    raise HTTPException(401, detail="missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})


def require(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency that lets the admin and the given roles through, and answers 403 to others."""

    async def _check(role: Annotated[Role, Depends(caller_role)]) -> Role:
        if role is Role.admin or role in roles:
            return role
        raise HTTPException(403, detail=f"role {role.value} may not call this")

    return Depends(_check)
