"""Staff records, passwords and console sessions.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile) and
rehashed at sign-in when those defaults change. A session is a random token in an HttpOnly cookie;
the database keeps only its SHA-256, so a leaked table signs nobody in. A session ends when its
person signs out, after `staff_session_idle_minutes` without a request, after
`staff_session_max_hours` in any case, and when the person is deactivated. Failed sign-ins in a row
lock the account for a while; an unknown username costs the same hashing time as a known one.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import Settings
from backend.core.errors import DomainError, NotFound
from backend.core.unique import add_unique
from backend.staff.models import Staff, StaffSession
from backend.staff.roles import StaffRole
from backend.staff.schemas import StaffCreate, StaffRead, StaffUpdate

logger = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that the answer takes as long as for a known one.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
#: a session's last request is written at most this often
ACTIVITY_WRITE_SECONDS = 60


class SignInFailed(DomainError):
    status_code = 401
    code = "signin_failed"


class SignInLocked(DomainError):
    status_code = 429
    code = "signin_locked"


@dataclass(frozen=True)
class Signed:
    """A valid session and its person, as read at the start of a request."""

    session_id: int
    staff_id: int
    username: str
    name: str
    role: StaffRole
    csrf_token: str
    expires_at: datetime
    last_active_at: datetime


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- staff records ------------------------------------------------------------------------------


def create_staff(session: Session, data: StaffCreate) -> Staff:
    staff = Staff(
        username=data.username,
        name=data.name,
        role=data.role.value,
        password_hash=hash_password(data.password),
        phone=data.phone,
        wecom_user_id=data.wecom_user_id,
        active=True,
        accepting=True,
        failed_signins=0,
        created_at=clock.now(),
    )
    add_unique(session, staff, f"用户名 {data.username} 已被使用")
    logger.info("staff %s created with role %s", data.username, data.role.value)
    return staff


def get_staff(session: Session, username: str) -> Staff:
    staff = session.scalar(select(Staff).where(Staff.username == username))
    if staff is None:
        raise NotFound(f"没有找到工作人员 {username}", code="staff_not_found")
    return staff


def staff_by_id(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("工作人员不存在", code="staff_not_found")
    return staff


def names(session: Session, staff_ids: set[int]) -> dict[int, str]:
    """The names of these people, by id."""
    if not staff_ids:
        return {}
    return dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids))).all())  # type: ignore[arg-type]


def list_staff(session: Session, *, roles: frozenset[StaffRole] | None = None) -> list[Staff]:
    query = select(Staff).order_by(Staff.username)
    if roles is not None:
        query = query.where(Staff.role.in_([r.value for r in roles]))
    return list(session.scalars(query))


def find_by_phone(session: Session, phone: str, *, role: StaffRole) -> Staff | None:
    return session.scalar(
        select(Staff).where(Staff.phone == phone, Staff.role == role.value, Staff.active.is_(True)).limit(1)
    )


def update_staff(session: Session, username: str, data: StaffUpdate) -> Staff:
    staff = get_staff(session, username)
    changes = data.model_dump(exclude_unset=True)
    if "password" in changes and changes["password"] is not None:
        staff.password_hash = hash_password(changes.pop("password"))
        end_sessions(session, staff.id)  # a new password signs every console out
    changes.pop("password", None)
    if changes.get("role") is not None:
        staff.role = StaffRole(changes.pop("role")).value
    if changes.get("name") is not None:
        staff.name = changes["name"]
    for name in ("phone", "wecom_user_id"):  # null clears these
        if name in changes:
            setattr(staff, name, changes[name])
    if changes.get("active") is not None:
        staff.active = bool(changes["active"])
        if not staff.active:
            end_sessions(session, staff.id)
    session.flush()
    return staff


def set_accepting(session: Session, staff_id: int, accepting: bool) -> Staff:
    staff = staff_by_id(session, staff_id)
    staff.accepting = accepting
    session.flush()
    return staff


def read(staff: Staff) -> StaffRead:
    return StaffRead(
        username=staff.username,
        name=staff.name,
        role=StaffRole(staff.role),
        phone=staff.phone,
        wecom_user_id=staff.wecom_user_id,
        active=staff.active,
        accepting=staff.accepting,
    )


# --- signing in and out -------------------------------------------------------------------------


def sign_in(session: Session, settings: Settings, username: str, password: str) -> tuple[Signed, str]:
    """Check the password and open a session; returns it and the cookie's token.

    A wrong password is counted (and may lock the account) in this session's transaction, so the
    caller commits before answering with the error: SignInFailed / SignInLocked carry no data.
    """
    now = clock.now()
    staff = session.scalar(select(Staff).where(Staff.username == username).with_for_update())
    if staff is None or not staff.active:
        _verify(_DUMMY_HASH, password)
        raise SignInFailed("用户名或密码错误")
    if staff.locked_until is not None and staff.locked_until > now:
        raise SignInLocked("密码连续输错次数过多，账号已暂时锁定，请稍后再试或联系管理员")
    if not _verify(staff.password_hash, password):
        staff.failed_signins += 1
        if staff.failed_signins >= settings.staff_signin_max_failures:
            staff.locked_until = now + timedelta(minutes=settings.staff_lock_minutes)
            staff.failed_signins = 0
            logger.warning("staff %s locked after repeated failed sign-ins", staff.username)
        session.flush()
        raise SignInFailed("用户名或密码错误")
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    staff.failed_signins, staff.locked_until = 0, None
    staff.accepting = True
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        staff_id=staff.id,
        token_hash=token_hash(token),
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        last_active_at=now,
        last_seen_at=None,
        expires_at=now + timedelta(hours=settings.staff_session_max_hours),
    )
    session.add(row)
    session.flush()
    logger.info("staff %s signed in (session %s)", staff.username, row.id)
    return _signed(row, staff), token


def _verify(encoded: str, password: str) -> bool:
    try:
        return _hasher.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


def signed_in(session: Session, settings: Settings, token: str) -> Signed | None:
    """The valid session of a cookie's token, else None (unknown, ended, idle too long, expired)."""
    now = clock.now()
    found = session.execute(
        select(StaffSession, Staff)
        .join(Staff, Staff.id == StaffSession.staff_id)
        .where(StaffSession.token_hash == token_hash(token))
    ).first()
    if found is None:
        return None
    row, staff = found
    idle_limit = row.last_active_at + timedelta(minutes=settings.staff_session_idle_minutes)
    if row.ended_at is not None or not staff.active or now >= row.expires_at or now >= idle_limit:
        return None
    return _signed(row, staff)


def _signed(row: StaffSession, staff: Staff) -> Signed:
    return Signed(
        session_id=row.id,
        staff_id=staff.id,
        username=staff.username,
        name=staff.name,
        role=StaffRole(staff.role),
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
        last_active_at=row.last_active_at,
    )


def expires_at(settings: Settings, signed: Signed) -> datetime:
    """When the session ends unless the person makes another request."""
    return min(signed.expires_at, signed.last_active_at + timedelta(minutes=settings.staff_session_idle_minutes))


def touch_active(session: Session, session_id: int) -> None:
    session.execute(update(StaffSession).where(StaffSession.id == session_id).values(last_active_at=clock.now()))


def touch_seen(session: Session, session_id: int) -> None:
    session.execute(update(StaffSession).where(StaffSession.id == session_id).values(last_seen_at=clock.now()))


def sign_out(session: Session, session_id: int) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.ended_at.is_(None))
        .values(ended_at=clock.now())
    )


def end_sessions(session: Session, staff_id: int) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
        .values(ended_at=clock.now())
    )


# --- presence -----------------------------------------------------------------------------------


def online(session: Session, settings: Settings, *, roles: frozenset[StaffRole]) -> list[Staff]:
    """Active staff of `roles` whose console is open now (a live session whose stream was seen within
    `staff_presence_seconds`), accepting or not."""
    now = clock.now()
    live = (
        select(StaffSession.staff_id)
        .where(
            StaffSession.ended_at.is_(None),
            StaffSession.expires_at > now,
            StaffSession.last_active_at > now - timedelta(minutes=settings.staff_session_idle_minutes),
            StaffSession.last_seen_at > now - timedelta(seconds=settings.staff_presence_seconds),
        )
        .distinct()
    )
    query = (
        select(Staff)
        .where(Staff.id.in_(live), Staff.active.is_(True), Staff.role.in_([r.value for r in roles]))
        .order_by(Staff.username)
    )
    return list(session.scalars(query))


def count_staff(session: Session) -> int:
    return int(session.scalar(select(func.count(Staff.id))) or 0)
