"""`/staff`: signing in and out of the console, one's own session, and the admin's staff records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from backend.core.clock import to_local
from backend.core.config import Settings
from backend.core.db import transaction
from backend.core.deps import SessionDep, SettingsDep
from backend.core.errors import DomainError, error_responses
from backend.core.tx import FactoryDep, TxSessionDep
from backend.staff import service
from backend.staff.access import COOKIE_NAME, Caller, allow
from backend.staff.roles import ADMIN_ROLES, SUPERVISION_ROLES, StaffRole
from backend.staff.schemas import Accepting, SessionRead, SignIn, StaffCreate, StaffRead, StaffUpdate

router = APIRouter(tags=["staff"])
#: any signed-in person (never a bearer token)
Person = Annotated[Caller, allow(staff=frozenset(StaffRole), admin_token=False)]
Admin = Annotated[Caller, allow(staff=ADMIN_ROLES)]
Supervisor = Annotated[Caller, allow(staff=SUPERVISION_ROLES)]
Username = Annotated[str, Path(min_length=3, max_length=32, pattern=r"^[a-z][a-z0-9_.-]*$")]


def _session_read(settings: Settings, signed: service.Signed, staff: StaffRead) -> SessionRead:
    return SessionRead(
        staff=staff,
        csrf_token=signed.csrf_token,
        expires_at=to_local(service.expires_at(settings, signed)),  # type: ignore[arg-type]
    )


@router.post("/staff/sessions", status_code=201, responses=error_responses(400, 429))
def sign_in(data: SignIn, response: Response, factory: FactoryDep, settings: SettingsDep) -> SessionRead:
    """Sign in to the console: sets the session cookie (HttpOnly, SameSite=Strict)."""
    failure: DomainError | None = None
    with transaction(factory) as session:  # a failed attempt is counted, so this commits either way
        try:
            signed, token = service.sign_in(session, settings, data.username, data.password)
            staff = service.read(service.staff_by_id(session, signed.staff_id))
        except (service.SignInFailed, service.SignInLocked) as exc:
            failure = exc
    if failure is not None:
        raise failure
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=settings.staff_session_max_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=settings.staff_cookie_secure,
        path="/",
    )
    return _session_read(settings, signed, staff)


@router.get("/staff/me")
def me(caller: Person, session: SessionDep, settings: SettingsDep) -> SessionRead:
    """The signed-in person and their session (the console asks at start and after signing in)."""
    assert caller.staff is not None
    return _session_read(settings, caller.staff, service.read(service.staff_by_id(session, caller.staff.staff_id)))


@router.delete("/staff/sessions/current", status_code=204)
def sign_out(caller: Person, session: TxSessionDep, response: Response) -> None:
    assert caller.staff is not None
    service.sign_out(session, caller.staff.session_id)
    response.delete_cookie(COOKIE_NAME, path="/")


@router.put("/staff/me/accepting", responses=error_responses(400))
def set_accepting(data: Accepting, caller: Person, session: TxSessionDep) -> Accepting:
    """Pause (小休) or resume taking conversations."""
    assert caller.staff is not None
    staff = service.set_accepting(session, caller.staff.staff_id, data.accepting)
    return Accepting(accepting=staff.accepting)


@router.post("/staff", status_code=201, responses=error_responses(400, 409))
def create_staff(data: StaffCreate, caller: Admin, session: TxSessionDep) -> StaffRead:
    """Admin: a new person (the admin token, or a signed-in admin)."""
    return service.read(service.create_staff(session, data))


@router.get("/staff")
def list_staff(caller: Supervisor, session: SessionDep) -> list[StaffRead]:
    return [service.read(s) for s in service.list_staff(session)]


@router.patch("/staff/{username}", responses=error_responses(400, 404))
def update_staff(username: Username, data: StaffUpdate, caller: Admin, session: TxSessionDep) -> StaffRead:
    """Admin: rename, change role or password (signs the person out), deactivate (signs them out)."""
    return service.read(service.update_staff(session, username, data))
