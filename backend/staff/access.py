"""Who is calling: a process with its bearer token (`core.deps`), or a person signed in to the console.

The console's session travels in an HttpOnly, SameSite=Strict cookie. A change asked for with the
cookie (any method but GET/HEAD) must also carry the session's CSRF token in `X-CSRF-Token`, so no
other site can make a signed-in browser act. A bearer token always wins over a cookie, and the
admin token is not a login: it reaches the staff API as the admin, never the person's pages.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.db import transaction
from backend.core.deps import Role, SettingsDep, token_role
from backend.core.errors import DomainError, Forbidden
from backend.staff import service
from backend.staff.roles import StaffRole

COOKIE_NAME = "pd_staff_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignedOut(DomainError):
    status_code = 401
    code = "signed_out"


@dataclass(frozen=True)
class Caller:
    """A process (`token`) or a signed-in person (`staff`); exactly one is set."""

    token: Role | None = None
    staff: service.Signed | None = None

    @property
    def is_admin(self) -> bool:
        return self.token is Role.admin or (self.staff is not None and self.staff.role is StaffRole.admin)

    @property
    def actor(self) -> str:
        """How the caller is written in timelines: "admin", "assistant", "worker" or "staff:<username>"."""
        if self.staff is not None:
            return f"staff:{self.staff.username}"
        assert self.token is not None
        return {Role.admin: "admin", Role.actions: "assistant", Role.worker: "worker"}[self.token]

    def has_role(self, roles: frozenset[StaffRole]) -> bool:
        return self.token is Role.admin or (self.staff is not None and self.staff.role in roles)


def allow(*tokens: Role, staff: frozenset[StaffRole] = frozenset(), admin_token: bool = True) -> Any:
    """A dependency answering the Caller: the admin token (unless `admin_token` is False) and the
    given tokens, or a signed-in person of one of the `staff` roles (admins always); 401/403 else."""

    def _caller(
        request: Request,
        settings: SettingsDep,
        authorization: Annotated[str | None, Header()] = None,
        x_csrf_token: Annotated[str | None, Header(alias=CSRF_HEADER, include_in_schema=False)] = None,
    ) -> Caller:
        if authorization:
            role = token_role(settings, authorization)
            if (role is Role.admin and admin_token) or role in tokens:
                return Caller(token=role)
            raise Forbidden("此操作需要工作人员登录" if not tokens else f"role {role.value} may not call this")
        token = request.cookies.get(COOKIE_NAME)
        if not token or not staff:
            raise SignedOut("请先登录")
        factory: sessionmaker[Session] = request.app.state.session_factory
        with factory() as session:
            signed = service.signed_in(session, settings, token)
        if signed is None:
            raise SignedOut("登录已过期，请重新登录")
        if signed.role not in staff and signed.role is not StaffRole.admin:
            raise Forbidden("您的岗位没有此项权限")
        if request.method not in SAFE_METHODS and not hmac.compare_digest(
            (x_csrf_token or "").encode(), signed.csrf_token.encode()
        ):
            raise Forbidden("页面已过期，请刷新后重试")
        if clock.now() - signed.last_active_at > timedelta(seconds=service.ACTIVITY_WRITE_SECONDS):
            with transaction(factory) as session:
                service.touch_active(session, signed.session_id)
        return Caller(staff=signed)

    return Depends(_caller)
