"""Grid-worker lookup answers."""

from __future__ import annotations

from pydantic import BaseModel


class CellRef(BaseModel):
    code: str
    name: str


class Contact(BaseModel):
    name: str
    phone: str


class GridWorkersRead(BaseModel):
    grid_cell: CellRef
    worker: Contact | None
    backup: Contact | None
