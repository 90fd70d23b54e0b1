"""Repair-report request and answer shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from backend.core.schemas import RequestModel
from backend.outages.schemas import OutageBrief
from backend.tickets.schemas import Channel, Priority, WorkerContact


class RepairReportCreate(RequestModel):
    account_no: str | None = Field(default=None, pattern=r"^\d{10}$")
    phone: str | None = Field(default=None, pattern=r"^1\d{10}$")
    address: str | None = Field(default=None, min_length=2, max_length=200)
    channel: Channel
    sender_id: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=2000)
    kind: Literal["repair", "hazard"] = "repair"
    callback_phone: str | None = Field(default=None, pattern=r"^1\d{10}$")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class RepairReportRead(BaseModel):
    outcome: Literal["attached_to_outage", "attached_to_ticket", "ticket_created"]
    ticket_no: str | None = None
    status: str | None = None
    outage: OutageBrief | None = None
    deadline: datetime | None = None
    priority: Priority | None = None
    worker: WorkerContact | None = None
    #: the metering system saw this customer's meter lose power then (and no outage explains it)
    meter_power_lost_at: datetime | None = None
