"""Topology request and answer shapes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend.core.schemas import RequestModel

Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
Name = Field(min_length=1, max_length=64)
Latitude = Field(default=None, ge=-90, le=90)
Longitude = Field(default=None, ge=-180, le=180)


class FeederCreate(RequestModel):
    code: str = Code
    name: str = Name


class FeederRead(FeederCreate):
    model_config = ConfigDict(from_attributes=True)


class GridCellCreate(RequestModel):
    code: str = Code
    name: str = Name
    neighbour_code: str | None = None
    #: the county (县) the cell belongs to, as the reports group it
    county: str | None = Field(default=None, min_length=1, max_length=32)
    #: the cell's centre, WGS-84 degrees
    latitude: float | None = Latitude
    longitude: float | None = Longitude


class GridCellRead(GridCellCreate):
    pass


class TransformerCreate(RequestModel):
    code: str = Code
    name: str = Name
    feeder_code: str
    grid_cell_code: str
    #: where it stands, WGS-84 degrees: a hazard reported nearby is placed in its cell
    latitude: float | None = Latitude
    longitude: float | None = Longitude


class TransformerRead(TransformerCreate):
    pass


class WorkerCreate(RequestModel):
    code: str = Code
    name: str = Field(min_length=1, max_length=32)
    phone: str = Field(pattern=r"^1\d{10}$")
    grid_cell_code: str
    wecom_user_id: str = Field(min_length=1, max_length=64)
    on_duty: bool = True
    capacity: int = Field(default=5, ge=0, le=100)
    is_supervisor: bool = False


class WorkerRead(WorkerCreate):
    pass


class WorkerToken(BaseModel):
    worker_code: str
    #: `Authorization: Bearer <token>`: the worker's grid cell only (backend/topology/scope.py)
    token: str
