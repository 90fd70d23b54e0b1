"""Access check request and answer shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.core.schemas import RequestModel


class VerificationCreate(RequestModel):
    document: str = Field(pattern=r"^(\d{10}|QX\d{12}|YK\d{12})$")
    phone_last4: str = Field(pattern=r"^\d{4}$")


class VerificationRead(BaseModel):
    document: str
    expires_at: datetime
