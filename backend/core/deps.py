"""FastAPI dependencies: settings, database session, Redis, and bearer-token roles.

A worker integration does not share one token: each worker has its own,
`pdw1.<worker code>.<HMAC-SHA256 of the code under POWERDESK_WORKER_TOKEN>` (issued by the admin,
`POST /api/v1/workers/{code}/token`), so a request names its worker and is scoped to that worker's
grid cell (backend/topology/scope.py). POWERDESK_WORKER_TOKEN itself is only the key.

Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in its thread
pool, and that hop costs more CPU than the dependency itself (docs/benchmarks.md, backend)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

import anyio
from fastapi import Depends, Header, HTTPException, Request
from redis import Redis
from sqlalchemy.orm import Session

from backend.core.config import Settings

logger = logging.getLogger(__name__)


class Role(str, Enum):
    admin = "admin"
    actions = "actions"
    worker = "worker"
    integration = "integration"


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


#: Threads that end sessions (commit or roll back, close) have their own share: with the endpoints'
#: threads (anyio's default 40) all waiting for a pooled connection, a session holding one could not
#: get a thread to hand it back, and the process stopped answering (the unknown-fault storm did).
SESSION_END_THREADS = anyio.CapacityLimiter(16)


async def end_session(finish: Callable[..., None], *args: object) -> None:
    """Run a session's end (`finish(*args)`) in a thread of its own share, whatever happens around it."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(finish, *args, limiter=SESSION_END_THREADS)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for reads. Opening one does no I/O; closing it returns its connection, in a thread."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        await end_session(session.close)


async def get_redis_client(request: Request) -> Redis:
    client: Redis = request.app.state.redis
    return client


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
RedisDep = Annotated[Redis, Depends(get_redis_client)]


WORKER_TOKEN_VERSION = "pdw1"


def worker_token(key: str, worker_code: str) -> str:
    """The bearer token of one worker, derived from POWERDESK_WORKER_TOKEN (`key`)."""
    mac = hmac.new(key.encode(), f"{WORKER_TOKEN_VERSION}:{worker_code}".encode(), hashlib.sha256).digest()
    return f"{WORKER_TOKEN_VERSION}.{worker_code}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


@dataclass(frozen=True)
class Caller:
    role: Role
    #: the worker a worker token belongs to (None for the other roles)
    worker_code: str | None = None


def token_caller(settings: Settings, authorization: str | None) -> Caller:
    """Who the bearer token of an `Authorization` header belongs to; 401 when there is none or it is wrong."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token:
        for role, expected in (
            (Role.admin, settings.powerdesk_admin_token),
            (Role.actions, settings.powerdesk_actions_token),
            (Role.integration, settings.powerdesk_integration_token),
        ):
            if expected is not None and hmac.compare_digest(token.encode(), expected.encode()):
                return Caller(role)
        version, _, rest = token.partition(".")
        code = rest.rpartition(".")[0]
        if version == WORKER_TOKEN_VERSION and code:
            expected = worker_token(settings.powerdesk_worker_token, code)
            if hmac.compare_digest(token.encode(), expected.encode()):
                return Caller(Role.worker, code)
    raise HTTPException(401, detail="missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})


def token_role(settings: Settings, authorization: str | None) -> Role:
    """The role of the bearer token in an `Authorization` header; 401 when there is none or it is wrong."""
    return token_caller(settings, authorization).role


async def caller(
    request: Request, settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """Who the request's token belongs to; 401 when there is none or it is wrong."""
    try:
        return token_caller(settings, authorization)
    except HTTPException:
        logger.warning("%s %s refused: missing or invalid bearer token", request.method, request.url.path)
        raise


CallerDep = Annotated[Caller, Depends(caller)]


async def caller_role(who: CallerDep) -> Role:
    """The role whose token the request carries."""
    return who.role


def require(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency that lets the admin and the given roles through, and answers 403 to others."""

    async def _check(request: Request, role: Annotated[Role, Depends(caller_role)]) -> Role:
        if role is Role.admin or role in roles:
            return role
        logger.warning("%s %s refused: role %s may not call it", request.method, request.url.path, role.value)
        raise HTTPException(403, detail=f"role {role.value} may not call this")

    return Depends(_check)
