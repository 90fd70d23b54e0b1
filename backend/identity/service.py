"""Identity service: resolve a channel identity to customers or a worker."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from backend.customers import service as customers
from backend.identity.schemas import IdentityRead, WorkerBrief
from backend.topology import service as topology
from backend.topology.models import Worker


def _worker_brief(worker: Worker | None) -> WorkerBrief | None:
    if worker is None:
        return None
    return WorkerBrief(code=worker.code, name=worker.name, grid_cell_code=worker.grid_cell.code)


def resolve(
    session: Session,
    *,
    wechat_openid: str | None = None,
    wecom_user_id: str | None = None,
    phone: str | None = None,
) -> IdentityRead:
    found = []
    worker = None
    if wechat_openid:
        found = customers.find_by_openid(session, wechat_openid)
    elif wecom_user_id:
        worker = topology.find_worker_by_wecom(session, wecom_user_id)
    elif phone:
        found = customers.find_by_phone(session, phone)
        worker = topology.find_worker_by_phone(session, phone)
    kind: Literal["customer", "worker", "unknown"] = "worker" if worker else "customer" if found else "unknown"
    return IdentityRead(kind=kind, customers=[customers.brief(c) for c in found], worker=_worker_brief(worker))
