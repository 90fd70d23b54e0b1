"""Outage request and answer shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from backend.core.schemas import RequestModel

OutageKind = Literal["planned", "temporary", "fault", "arrears", "orderly"]
OutageStatus = Literal["announced", "active", "suspected", "restored", "cancelled", "dismissed", "merged"]
OutageSource = Literal["dispatcher", "reports", "device"]


class OutageCreate(RequestModel):
    kind: OutageKind
    cause: str = Field(min_length=1, max_length=500)
    starts_at: AwareDatetime
    estimated_restore_at: AwareDatetime
    feeder_codes: list[str] = Field(default_factory=list, max_length=200)
    transformer_codes: list[str] = Field(default_factory=list, max_length=2000)
    account_nos: list[str] = Field(default_factory=list, max_length=5000)

    @model_validator(mode="after")
    def _check(self) -> OutageCreate:
        if self.estimated_restore_at <= self.starts_at:
            raise ValueError("estimated_restore_at must be after starts_at")
        if not (self.feeder_codes or self.transformer_codes or self.account_nos):
            raise ValueError("give at least one of feeder_codes, transformer_codes, account_nos")
        return self


class OutageUpdate(RequestModel):
    estimated_restore_at: AwareDatetime | None = None
    status: Literal["active", "restored", "cancelled"] | None = None
    cause: str | None = Field(default=None, min_length=1, max_length=500)


class OutageBrief(BaseModel):
    id: int
    kind: OutageKind
    #: said to customers as it is: for a suspected fault, what is known ("线路故障，正在排查")
    cause: str
    #: `suspected`: a fault found by clustering reports or by a device event, not yet confirmed on
    #: site; its estimate is the service standard's until the worker gives one
    status: OutageStatus
    source: OutageSource
    starts_at: datetime
    estimated_restore_at: datetime
    #: a fault's repair ticket, whose progress its reporters follow
    ticket_no: str | None = None


class OutageRead(OutageBrief):
    restored_at: datetime | None = None
    feeder_codes: list[str] = []
    transformer_codes: list[str] = []
    account_nos: list[str] = []
    affected_customers: int | None = None
