"""Customer request and answer shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from backend.core.schemas import RequestModel

AccountNo = Field(pattern=r"^\d{10}$")
CustomerType = Literal["resident", "business", "industrial", "key"]
AreaType = Literal["urban", "rural", "remote"]


class CustomerCreate(RequestModel):
    account_no: str = AccountNo
    name: str = Field(min_length=1, max_length=64)
    phone: str = Field(pattern=r"^1\d{10}$")
    address: str = Field(min_length=2, max_length=200)
    customer_type: CustomerType
    area_type: AreaType
    transformer_code: str
    wechat_openid: str | None = Field(default=None, min_length=1, max_length=64)
    medical_equipment: bool = False
    has_peak_valley: bool = False
    manager_name: str | None = Field(default=None, max_length=32)
    manager_phone: str | None = Field(default=None, pattern=r"^1\d{10}$")


class CustomerRead(BaseModel):
    account_no: str
    name: str
    phone: str | None = None  # only in admin answers
    phone_masked: str
    address: str
    customer_type: CustomerType
    area_type: AreaType
    transformer_code: str
    feeder_code: str
    grid_cell_code: str
    medical_equipment: bool
    wechat_openids: list[str] = []


class CustomerBrief(BaseModel):
    account_no: str
    name: str
    address: str
    phone_masked: str
    customer_type: CustomerType
