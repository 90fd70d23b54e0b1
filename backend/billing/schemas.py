"""Bill request and answer shapes."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, model_validator

from backend.core.schemas import RequestModel


class TierRead(BaseModel):
    tier: int
    kwh: int
    price: float
    amount: float


class BillRead(BaseModel):
    period: str
    kwh: int
    amount: float
    paid: bool
    due_date: date
    balance: float
    arrears: float
    tiers: list[TierRead]
    peak_kwh: int | None = None
    valley_kwh: int | None = None


class BillCreate(RequestModel):
    account_no: str = Field(pattern=r"^\d{10}$")
    period: str = Field(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$")
    kwh: int = Field(ge=0, le=10_000_000)
    peak_kwh: int | None = Field(default=None, ge=0, le=10_000_000)
    valley_kwh: int | None = Field(default=None, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _split(self) -> BillCreate:
        if (self.peak_kwh is None) != (self.valley_kwh is None):
            raise ValueError("give both peak_kwh and valley_kwh or neither")
        if self.peak_kwh is not None and self.valley_kwh is not None and self.peak_kwh + self.valley_kwh > self.kwh:
            raise ValueError("peak_kwh + valley_kwh exceeds kwh")
        return self


class ComparisonRead(BaseModel):
    period: str
    kwh: int
    cell_median_kwh: float | None
    ratio: float | None
    previous_kwh: int | None
    same_month_last_year_kwh: int | None
    similar_households: int


class TariffTier(BaseModel):
    tier: int
    #: the tier covers monthly use up to this many kWh (none: no upper limit)
    up_to_kwh: int | None
    price: float


class TariffRead(BaseModel):
    tiers: list[TariffTier]
    flat_price: float
    peak_hours: str
    valley_hours: str
    peak_surcharge: float
    valley_discount: float
