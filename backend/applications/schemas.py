"""Application request and answer shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from backend.core.schemas import RequestModel

ApplicationType = Literal["residential", "low_voltage", "high_voltage_single", "high_voltage_dual"]


class ApplicationCreate(RequestModel):
    account_no: str | None = Field(default=None, pattern=r"^\d{10}$")
    applicant_name: str = Field(min_length=1, max_length=64)
    type: ApplicationType
    capacity_kva: int = Field(ge=1, le=1_000_000)
    address: str = Field(min_length=2, max_length=200)
    manager_name: str = Field(min_length=1, max_length=32)
    manager_phone: str = Field(pattern=r"^1\d{10}$")


class StageRead(BaseModel):
    name: str
    label: str
    entered_at: datetime
    left_at: datetime | None
    #: the stage's limit in working days, and the deadline it sets from its start
    time_limit_days: int
    deadline: datetime


class Manager(BaseModel):
    name: str
    phone: str


class ApplicationRead(BaseModel):
    application_no: str
    applicant_name: str
    account_no: str | None
    type: ApplicationType
    type_label: str
    capacity_kva: int
    address: str
    stage: str
    stage_label: str
    stages: list[StageRead]
    submitted_at: datetime
    completed_at: datetime | None
    time_limit_days: int
    deadline: datetime
    working_days_used: int
    state: Literal["on_time", "at_risk", "late"]
    manager: Manager
