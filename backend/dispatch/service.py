"""Choosing who goes: the on-duty worker of the cell with the most spare capacity, with a backup.

When every on-duty worker of the cell is at capacity (班组承载力), the task goes to the best
worker of the neighbouring cell and the caller records an overload warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select
from sqlalchemy.orm import Session

from backend.core.errors import NotFound
from backend.topology import service as topology
from backend.topology.models import GridCell, Transformer, Worker

# a worker id column → the SQL count of the open tasks that worker carries
LoadFn = Callable[[Any], ColumnElement[int]]


@dataclass(frozen=True)
class Assignment:
    worker: Worker | None
    backup: Worker | None
    overloaded: bool
    cell_id: int
    cell_name: str
    neighbour_name: str | None


def _ranked(workers: list[Worker], load: dict[int, int]) -> list[tuple[int, Worker]]:
    """Workers with their spare capacity, most spare first, then by code for a stable choice."""
    ranked = [(w.capacity - load.get(w.id, 0), w) for w in workers]
    return sorted(ranked, key=lambda pair: (-pair[0], pair[1].code))


@lru_cache
def _candidates(open_load: LoadFn) -> Select[GridCell, Worker, int, int]:
    """The cell (its id, or else its transformer's cell), its neighbour, their on-duty workers and
    each worker's open tasks: one statement, built once."""
    own_id = func.coalesce(
        bindparam("cell_id", type_=Integer),
        select(Transformer.grid_cell_id).where(Transformer.id == bindparam("transformer_id")).scalar_subquery(),
    )
    neighbour_id = select(GridCell.neighbour_id).where(GridCell.id == own_id).scalar_subquery()
    return (
        select(GridCell, Worker, open_load(Worker.id), own_id)
        .outerjoin(Worker, (Worker.grid_cell_id == GridCell.id) & Worker.on_duty.is_(True))
        .where(GridCell.id.in_([own_id, neighbour_id]))
    )


def choose(
    session: Session,
    *,
    cell_id: int | None,
    transformer_id: int | None = None,
    open_load: LoadFn,
    supervisor: bool = False,
) -> Assignment:
    """Choose in cell `cell_id`, or when None in the cell of transformer `transformer_id`."""
    rows = session.execute(_candidates(open_load), {"cell_id": cell_id, "transformer_id": transformer_id}).all()
    cells = {row[0].id: row[0] for row in rows}
    if not rows or rows[0][3] not in cells:
        raise NotFound(f"网格 {cell_id or transformer_id} 不存在", code="grid_cell_not_found")
    cell = cells[rows[0][3]]
    neighbour = cells.get(cell.neighbour_id) if cell.neighbour_id else None
    load = {worker.id: count for _, worker, count, _ in rows if worker is not None}
    workers = [worker for _, worker, _, _ in rows if worker is not None]
    own = [w for w in workers if w.grid_cell_id == cell.id and w.is_supervisor == supervisor]
    others = [w for w in workers if neighbour and w.grid_cell_id == neighbour.id and not w.is_supervisor]
    own_ranked = _ranked(own, load)
    other_ranked = [(spare, w) for spare, w in _ranked(others, load) if spare > 0]
    backup = other_ranked[0][1] if other_ranked else None
    neighbour_name = neighbour.name if neighbour else None
    if own_ranked and (own_ranked[0][0] > 0 or supervisor):
        return Assignment(own_ranked[0][1], backup, False, cell.id, cell.name, neighbour_name)
    if backup is not None:
        second = other_ranked[1][1] if len(other_ranked) > 1 else None
        return Assignment(backup, second, True, cell.id, cell.name, neighbour_name)
    # Nobody has room: the least loaded of the cell still takes it, flagged as overloaded.
    fallback = own_ranked[0][1] if own_ranked else None
    return Assignment(fallback, None, bool(own_ranked), cell.id, cell.name, neighbour_name)


@dataclass(frozen=True)
class Responsible:
    cell_code: str
    cell_name: str
    worker: Worker | None
    backup: Worker | None


def responsible(session: Session, grid_cell_id: int) -> Responsible:
    """The cell's named worker (格中有人): on duty first, then by code; the backup from the neighbour cell."""
    cell = topology.grid_cell_by_id(session, grid_cell_id)

    def first(cell_id: int) -> Worker | None:
        everyone = [w for w in topology.workers_of_cell(session, cell_id, on_duty_only=False) if not w.is_supervisor]
        everyone.sort(key=lambda w: (not w.on_duty, w.code))
        return everyone[0] if everyone else None

    backup = first(cell.neighbour.id) if cell.neighbour else None
    return Responsible(cell.code, cell.name, first(cell.id), backup)
