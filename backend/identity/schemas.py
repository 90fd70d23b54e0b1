"""Identity answers: who is behind a WeChat openid, a WeCom user id or a phone number."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from backend.core.schemas import RequestModel
from backend.customers.schemas import CustomerBrief


class WorkerBrief(BaseModel):
    code: str
    name: str
    grid_cell_code: str


class IdentityRead(BaseModel):
    kind: Literal["customer", "worker", "unknown"]
    customers: list[CustomerBrief]
    worker: WorkerBrief | None


class BindCodeRequest(RequestModel):
    wechat_openid: str = Field(min_length=1, max_length=64)
    account_no: str = Field(pattern=r"^\d{10}$")


class BindCodeRead(BaseModel):
    phone_masked: str
    expires_in_minutes: int


class BindRequest(BindCodeRequest):
    code: str = Field(pattern=r"^\d{6}$")
