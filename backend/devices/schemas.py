"""Device event request and answer shapes (DESIGN "Wave 2": fixed)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from backend.core.schemas import NO_NUL, RequestModel


class DeviceEventCreate(RequestModel):
    #: the sending system's id: the same id again is the same event
    event_id: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    kind: Literal["power_lost", "power_restored"]
    scope: Literal["meter", "transformer", "feeder"]
    #: the account number for a meter, else the transformer's or feeder's code
    code: str = Field(min_length=1, max_length=32, pattern=NO_NUL)
    occurred_at: AwareDatetime


class DeviceEventAccepted(BaseModel):
    event_id: str
    #: `accepted`: stored, applied shortly after; `duplicate`: this event was received before
    status: Literal["accepted", "duplicate"]
