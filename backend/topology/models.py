"""Topology: feeders (线路) → transformers (台区) → customers; grid cells (网格) and their workers."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.db import Base


class Feeder(Base):
    __tablename__ = "feeder"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class GridCell(Base):
    __tablename__ = "grid_cell"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    # The county (县) the cell belongs to, for the reports (added in 0008).
    county: Mapped[str | None] = mapped_column(String(32))
    # The cell whose workers back this one up when it is over capacity.
    neighbour_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cell.id"))
    # The cell's centre (WGS-84 degrees), where known.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    neighbour: Mapped[GridCell | None] = relationship(remote_side=[id])


class Transformer(Base):
    __tablename__ = "transformer"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    feeder_id: Mapped[int] = mapped_column(ForeignKey("feeder.id"), index=True)
    grid_cell_id: Mapped[int] = mapped_column(ForeignKey("grid_cell.id"), index=True)
    # Where the transformer stands (WGS-84 degrees), where known: a hazard reported at a spot that
    # matches no customer is placed in the cell of the nearest transformer.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    feeder: Mapped[Feeder] = relationship()
    grid_cell: Mapped[GridCell] = relationship()


class Worker(Base):
    __tablename__ = "worker"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    grid_cell_id: Mapped[int] = mapped_column(ForeignKey("grid_cell.id"), index=True)
    wecom_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    # Open tasks the worker can carry at once (班组承载力).
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    is_supervisor: Mapped[bool] = mapped_column(Boolean, default=False)

    grid_cell: Mapped[GridCell] = relationship()
