"""What the backend knows of a place a customer names."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from backend.outages.schemas import OutageRead


class OpenRepair(BaseModel):
    ticket_no: str
    status: str
    arrival_deadline: datetime | None


class PlaceRead(BaseModel):
    #: the place matches a customer (for an address: one, or several on one transformer)
    found: bool
    #: an address or phone matching customers on different transformers: more detail is needed
    ambiguous: bool = False
    #: how to call the place to this reader: the full address for its owner, else with numbers hidden
    label: str | None = None
    #: outages covering the place now (active, suspected) or announced for later, soonest first
    outages: list[OutageRead] = []
    #: the repair ticket being worked on there, told only to the place's owner
    open_repair: OpenRepair | None = None
