"""Staff request and answer shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.core.schemas import RequestModel
from backend.staff.roles import StaffRole

Username = Field(min_length=3, max_length=32, pattern=r"^[a-z][a-z0-9_.-]*$")
Password = Field(min_length=8, max_length=128)
NAME_PATTERN = r"^[^\x00-\x1f<>&]+$"
StaffPhone = Field(default=None, pattern=r"^1[3-9]\d{9}$")
WecomUserId = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")


class StaffCreate(RequestModel):
    username: str = Username
    name: str = Field(min_length=1, max_length=32, pattern=NAME_PATTERN)
    role: StaffRole
    password: str = Password
    phone: str | None = StaffPhone
    wecom_user_id: str | None = WecomUserId


class StaffUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=32, pattern=NAME_PATTERN)
    role: StaffRole | None = None
    password: str | None = Field(default=None, min_length=8, max_length=128)
    phone: str | None = StaffPhone
    wecom_user_id: str | None = WecomUserId
    #: false: the person can no longer sign in, and their open sessions end
    active: bool | None = None


class StaffRead(BaseModel):
    username: str
    name: str
    role: StaffRole
    phone: str | None
    wecom_user_id: str | None
    active: bool
    accepting: bool


class SignIn(RequestModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


class SessionRead(BaseModel):
    """The signed-in person; `csrf_token` goes back in `X-CSRF-Token` with every change."""

    staff: StaffRead
    csrf_token: str
    expires_at: datetime


class Accepting(RequestModel):
    #: false: paused (小休), no new conversations, not counted as online
    accepting: bool
