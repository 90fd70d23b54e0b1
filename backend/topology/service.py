"""Topology service: feeders, grid cells, transformers, workers."""

from __future__ import annotations

import math
from typing import Any, TypeVar

from sqlalchemy import BindParameter, ScalarSelect, Select, select
from sqlalchemy.orm import Session

from backend.core.errors import NotFound
from backend.core.unique import add_unique
from backend.topology.models import Feeder, GridCell, Transformer, Worker
from backend.topology.schemas import (
    FeederCreate,
    FeederRead,
    GridCellCreate,
    GridCellRead,
    TransformerCreate,
    TransformerRead,
    WorkerCreate,
    WorkerRead,
)

T = TypeVar("T", Feeder, GridCell, Transformer, Worker)


def _by_code(session: Session, model: type[T], code: str, what: str) -> T:
    row = session.scalar(select(model).where(model.code == code))
    if row is None:
        raise NotFound(f"没有找到编号为 {code} 的{what}", code=f"{model.__tablename__}_not_found")
    return row


def get_feeder(session: Session, code: str) -> Feeder:
    return _by_code(session, Feeder, code, "线路")


def get_grid_cell(session: Session, code: str) -> GridCell:
    return _by_code(session, GridCell, code, "供电网格")


def get_transformer(session: Session, code: str) -> Transformer:
    return _by_code(session, Transformer, code, "台区")


def get_worker(session: Session, code: str) -> Worker:
    return _by_code(session, Worker, code, "网格员")


def find_worker_by_wecom(session: Session, wecom_user_id: str) -> Worker | None:
    return session.scalar(select(Worker).where(Worker.wecom_user_id == wecom_user_id))


def find_worker_by_phone(session: Session, phone: str) -> Worker | None:
    return session.scalar(select(Worker).where(Worker.phone == phone).order_by(Worker.id))


def workers_of_cell(session: Session, grid_cell_id: int, *, on_duty_only: bool = True) -> list[Worker]:
    query = select(Worker).where(Worker.grid_cell_id == grid_cell_id)
    if on_duty_only:
        query = query.where(Worker.on_duty.is_(True))
    return list(session.scalars(query.order_by(Worker.is_supervisor, Worker.code)))


def create_feeder(session: Session, data: FeederCreate) -> FeederRead:
    add_unique(session, Feeder(code=data.code, name=data.name), f"线路编号 {data.code} 已存在")
    return FeederRead.model_validate(data.model_dump())


def create_grid_cell(session: Session, data: GridCellCreate) -> GridCellRead:
    neighbour = get_grid_cell(session, data.neighbour_code) if data.neighbour_code else None
    cell = GridCell(
        code=data.code,
        name=data.name,
        neighbour_id=neighbour.id if neighbour else None,
        county=data.county,
        latitude=data.latitude,
        longitude=data.longitude,
    )
    add_unique(session, cell, f"网格编号 {data.code} 已存在")
    return grid_cell_read(cell, neighbour)


def create_transformer(session: Session, data: TransformerCreate) -> TransformerRead:
    feeder = get_feeder(session, data.feeder_code)
    cell = get_grid_cell(session, data.grid_cell_code)
    row = Transformer(
        code=data.code,
        name=data.name,
        feeder_id=feeder.id,
        grid_cell_id=cell.id,
        latitude=data.latitude,
        longitude=data.longitude,
    )
    add_unique(session, row, f"台区编号 {data.code} 已存在")
    return TransformerRead.model_validate(data.model_dump())


def create_worker(session: Session, data: WorkerCreate) -> WorkerRead:
    cell = get_grid_cell(session, data.grid_cell_code)
    fields = data.model_dump(exclude={"grid_cell_code"})
    add_unique(session, Worker(grid_cell_id=cell.id, **fields), f"网格员编号或企业微信账号 {data.code} 已存在")
    return WorkerRead.model_validate(data.model_dump())


def grid_cell_read(cell: GridCell, neighbour: GridCell | None) -> GridCellRead:
    return GridCellRead(
        code=cell.code,
        name=cell.name,
        neighbour_code=neighbour.code if neighbour else None,
        county=cell.county,
        latitude=cell.latitude,
        longitude=cell.longitude,
    )


def list_feeders(session: Session) -> list[FeederRead]:
    return [FeederRead.model_validate(f) for f in session.scalars(select(Feeder).order_by(Feeder.code))]


def list_grid_cells(session: Session) -> list[GridCellRead]:
    cells = session.scalars(select(GridCell).order_by(GridCell.code))
    return [grid_cell_read(c, c.neighbour) for c in cells]


def list_transformers(session: Session, *, limit: int, offset: int) -> list[TransformerRead]:
    rows = session.scalars(select(Transformer).order_by(Transformer.code).limit(limit).offset(offset))
    return [transformer_read(t) for t in rows]


def transformer_read(row: Transformer) -> TransformerRead:
    return TransformerRead(
        code=row.code,
        name=row.name,
        feeder_code=row.feeder.code,
        grid_cell_code=row.grid_cell.code,
        latitude=row.latitude,
        longitude=row.longitude,
    )


def worker_read(row: Worker) -> WorkerRead:
    return WorkerRead(
        code=row.code,
        name=row.name,
        phone=row.phone,
        grid_cell_code=row.grid_cell.code,
        wecom_user_id=row.wecom_user_id,
        on_duty=row.on_duty,
        capacity=row.capacity,
        is_supervisor=row.is_supervisor,
    )


def list_workers(session: Session, *, grid_cell_code: str | None = None) -> list[WorkerRead]:
    query = select(Worker).order_by(Worker.code)
    if grid_cell_code:
        query = query.where(Worker.grid_cell_id == get_grid_cell(session, grid_cell_code).id)
    return [worker_read(w) for w in session.scalars(query)]


def transformer_by_id(session: Session, transformer_id: int) -> Transformer:
    row = session.get(Transformer, transformer_id)
    if row is None:
        raise NotFound(f"台区 {transformer_id} 不存在", code="transformer_not_found")
    return row


def grid_cell_by_id(session: Session, grid_cell_id: int) -> GridCell:
    row = session.get(GridCell, grid_cell_id)
    if row is None:
        raise NotFound(f"网格 {grid_cell_id} 不存在", code="grid_cell_not_found")
    return row


def feeder_by_id(session: Session, feeder_id: int) -> Feeder:
    row = session.get(Feeder, feeder_id)
    if row is None:
        raise NotFound(f"线路 {feeder_id} 不存在", code="feeder_not_found")
    return row


def feeder_id_of(transformer_id: int | BindParameter[int]) -> ScalarSelect[int]:
    """A scalar subquery: the feeder that feeds the transformer."""
    return select(Transformer.feeder_id).where(Transformer.id == transformer_id).scalar_subquery()


def transformer_ids_on_feeders(feeder_ids: Select[Any]) -> Select[Any]:
    """A SELECT of the transformers fed by the feeders that `feeder_ids` selects."""
    return select(Transformer.id).where(Transformer.feeder_id.in_(feeder_ids))


EARTH_RADIUS_KM = 6371.0
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two WGS-84 points (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def nearest_transformer(session: Session, latitude: float, longitude: float, *, within_km: float) -> Transformer | None:
    """The transformer nearest to the point, if one stands within `within_km` (those in a box around
    the point are read, then measured)."""
    dlat = within_km / KM_PER_DEGREE
    dlon = within_km / (KM_PER_DEGREE * max(math.cos(math.radians(latitude)), 0.01))
    nearby = session.scalars(
        select(Transformer).where(
            Transformer.latitude.between(latitude - dlat, latitude + dlat),
            Transformer.longitude.between(longitude - dlon, longitude + dlon),
        )
    )
    measured = [
        (distance_km(latitude, longitude, t.latitude, t.longitude), t.id, t)
        for t in nearby
        if t.latitude is not None and t.longitude is not None
    ]
    best = min(measured, default=None, key=lambda item: item[:2])
    return best[2] if best is not None and best[0] <= within_km else None


def transformer_ids_in_cell(grid_cell_id: int) -> Select[Any]:
    """A SELECT of the transformers whose area belongs to the grid cell."""
    return select(Transformer.id).where(Transformer.grid_cell_id == grid_cell_id)
