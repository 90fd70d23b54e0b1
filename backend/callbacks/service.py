"""Callback tasks: the customer is called back within `callback_contact_minutes` of service hours.

Asked for by the assistant when no agent can take a conversation, or by an agent from the console.
A sender with an open task who asks again gets that task (one call, not two).
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.callbacks.enums import CallbackStatus
from backend.callbacks.models import CallbackTask
from backend.callbacks.schemas import CallbackCreate, CallbackRead
from backend.core import clock
from backend.core.config import Settings
from backend.core.errors import Conflict, NotFound
from backend.core.masking import mask_phone
from backend.staff import service as staff

logger = logging.getLogger(__name__)


def _open_of(session: Session, channel: str, sender_id: str) -> CallbackTask | None:
    return session.scalar(
        select(CallbackTask).where(
            CallbackTask.channel == channel,
            CallbackTask.sender_id == sender_id,
            CallbackTask.status == CallbackStatus.open.value,
        )
    )


def create(
    session: Session, settings: Settings, data: CallbackCreate, *, actor: str, handoff_id: int | None = None
) -> CallbackTask:
    existing = _open_of(session, data.channel, data.sender_id)
    if existing is not None:
        return existing
    now = clock.now()
    task = CallbackTask(
        channel=data.channel,
        sender_id=data.sender_id,
        account_no=data.account_no,
        phone=data.phone,
        reason=data.reason,
        handoff_id=handoff_id,
        status=CallbackStatus.open.value,
        contact_deadline=clock.add_daily_hours_minutes(
            now, settings.callback_contact_minutes, settings.handoff_hours_start, settings.handoff_hours_end
        ),
        created_at=now,
        created_by=actor,
    )
    try:
        with session.begin_nested():  # a concurrent request of the same sender won the unique index
            session.add(task)
    except IntegrityError:
        found = _open_of(session, data.channel, data.sender_id)
        if found is None:
            raise
        return found
    logger.info("callback task %s for %s due %s", task.id, mask_phone(data.phone), task.contact_deadline)
    return task


def list_tasks(session: Session, *, status: str, limit: int = 200) -> list[CallbackTask]:
    query = select(CallbackTask).where(CallbackTask.status == status)
    order = CallbackTask.contact_deadline if status == CallbackStatus.open.value else CallbackTask.done_at.desc()
    return list(session.scalars(query.order_by(order).limit(limit)))


def complete(session: Session, task_id: int, *, staff_id: int | None, note: str) -> CallbackTask:
    """The customer was called: the task is done, with what was said."""
    done = session.execute(
        update(CallbackTask)
        .where(CallbackTask.id == task_id, CallbackTask.status == CallbackStatus.open.value)
        .values(status=CallbackStatus.done.value, done_at=clock.now(), done_by_id=staff_id, note=note)
    )
    task = session.get(CallbackTask, task_id)
    if task is None:
        raise NotFound(f"回电任务 {task_id} 不存在", code="callback_not_found")
    if not done.rowcount:  # type: ignore[attr-defined]
        raise Conflict("该回电任务已处理", code="callback_done")
    session.refresh(task)
    return task


def read(session: Session, task: CallbackTask) -> CallbackRead:
    now = clock.now()
    done_by = staff.staff_by_id(session, task.done_by_id).name if task.done_by_id else None
    return CallbackRead(
        id=task.id,
        channel=task.channel,
        account_no=task.account_no,
        phone=task.phone,
        reason=task.reason,
        status=task.status,  # type: ignore[arg-type]
        contact_deadline=clock.to_local(task.contact_deadline),  # type: ignore[arg-type]
        overdue=task.status == CallbackStatus.open.value and task.contact_deadline < now,
        created_at=clock.to_local(task.created_at),  # type: ignore[arg-type]
        done_at=clock.to_local(task.done_at),
        done_by=done_by,
        note=task.note,
    )
