"""Confirm, dismiss and re-estimate request shapes."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from backend.core.schemas import RequestModel

WorkerCode = Field(default=None, min_length=1, max_length=32)


class FaultConfirm(RequestModel):
    #: what the customers are told: the cause in plain words ("10kV线路被树枝挂断")
    cause: str = Field(min_length=2, max_length=200)
    estimated_restore_at: AwareDatetime
    #: the worker on site (required with the actions or worker token; the admin is the dispatcher)
    worker_code: str | None = WorkerCode


class FaultDismiss(RequestModel):
    #: why it is not a line fault (for the record; customers get our own honest wording)
    reason: str = Field(min_length=2, max_length=500)
    worker_code: str | None = WorkerCode


class EstimateUpdate(RequestModel):
    estimated_restore_at: AwareDatetime
    worker_code: str | None = WorkerCode
