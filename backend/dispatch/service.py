"""Choosing who goes: the on-duty worker of the cell with the most spare capacity, with a backup.

When every on-duty worker of the cell is at capacity (班组承载力), the task goes to the best
worker of the neighbouring cell and the caller records an overload warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.topology import service as topology
from backend.topology.models import Worker

# worker ids → number of open tasks each carries
LoadFn = Callable[[list[int]], dict[int, int]]


@dataclass(frozen=True)
class Assignment:
    worker: Worker | None
    backup: Worker | None
    overloaded: bool
    cell_name: str
    neighbour_name: str | None


def _ranked(workers: list[Worker], load: dict[int, int]) -> list[tuple[int, Worker]]:
    """Workers with their spare capacity, most spare first, then by code for a stable choice."""
    ranked = [(w.capacity - load.get(w.id, 0), w) for w in workers]
    return sorted(ranked, key=lambda pair: (-pair[0], pair[1].code))


def choose(session: Session, grid_cell_id: int, open_load: LoadFn, *, supervisor: bool = False) -> Assignment:
    cell, neighbour = topology.cell_and_neighbour(session, grid_cell_id)
    workers = topology.workers_of_cells(session, [cell.id] + ([neighbour.id] if neighbour else []))
    own = [w for w in workers if w.grid_cell_id == cell.id and w.is_supervisor == supervisor]
    others = [w for w in workers if neighbour and w.grid_cell_id == neighbour.id and not w.is_supervisor]
    load = open_load([w.id for w in own + others])
    own_ranked = _ranked(own, load)
    other_ranked = [(spare, w) for spare, w in _ranked(others, load) if spare > 0]
    backup = other_ranked[0][1] if other_ranked else None
    neighbour_name = neighbour.name if neighbour else None
    if own_ranked and (own_ranked[0][0] > 0 or supervisor):
        return Assignment(own_ranked[0][1], backup, False, cell.name, neighbour_name)
    if backup is not None:
        second = other_ranked[1][1] if len(other_ranked) > 1 else None
        return Assignment(backup, second, True, cell.name, neighbour_name)
    # Nobody has room: the least loaded of the cell still takes it, flagged as overloaded.
    fallback = own_ranked[0][1] if own_ranked else None
    return Assignment(fallback, None, bool(own_ranked), cell.name, neighbour_name)


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
