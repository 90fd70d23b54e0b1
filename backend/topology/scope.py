"""What a worker token may see and do: its worker's grid cell (格中有人、人负其责).

A worker request (`Caller.worker_code`, backend/core/deps.py) reads the customers of its own cell
and the tickets of its cell or assigned to it (as the worker or the backup, which may be a
neighbour cell's ticket); it moves only the tickets assigned to it, or, for a supervisor (网格长),
the tickets of its cell. Anything else is answered exactly as if it did not exist (404 with the
same code and message), so a worker token cannot learn which accounts or tickets exist elsewhere.
The checks live with their data (`customers.service.get_customer_in_scope`,
`tickets.service.check_worker_access`); this module says who the worker is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy import select

from backend.core.deps import CallerDep, Role, SessionDep
from backend.core.errors import Forbidden
from backend.topology.models import Worker


@dataclass(frozen=True)
class WorkerScope:
    worker_id: int
    code: str
    grid_cell_id: int
    is_supervisor: bool


async def worker_scope(who: CallerDep, session: SessionDep) -> WorkerScope | None:
    """The scope of a worker request; None for the other roles (not limited by a cell)."""
    if who.role is not Role.worker:
        return None
    worker = session.scalar(select(Worker).where(Worker.code == who.worker_code))
    if worker is None:  # a token of a worker since removed
        raise Forbidden("该网格员已不在册", code="worker_unknown")
    return WorkerScope(worker.id, worker.code, worker.grid_cell_id, worker.is_supervisor)


ScopeDep = Annotated[WorkerScope | None, Depends(worker_scope)]
