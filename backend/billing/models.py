"""Monthly bills (电费账单)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base


class Bill(Base):
    __tablename__ = "bill"
    __table_args__ = (UniqueConstraint("customer_id", "period"), Index("ix_bill_period", "period"))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    period: Mapped[str] = mapped_column(String(7))  # "2026-10"
    kwh: Mapped[int] = mapped_column(Integer)
    peak_kwh: Mapped[int | None] = mapped_column(Integer)
    valley_kwh: Mapped[int | None] = mapped_column(Integer)
    # [{tier, kwh, price, amount}] as billed, so later tariff changes do not rewrite history.
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    due_date: Mapped[date] = mapped_column(Date)
    # Account balance (prepaid minus owed) when the bill was issued.
    balance: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
