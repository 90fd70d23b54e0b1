"""Customers (户) and their WeChat bindings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base

CUSTOMER_TYPES = ("resident", "business", "industrial", "key")
AREA_TYPES = ("urban", "rural", "remote")


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_no: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(String(200), index=True)
    customer_type: Mapped[str] = mapped_column(String(16))
    area_type: Mapped[str] = mapped_column(String(16))
    transformer_id: Mapped[int] = mapped_column(ForeignKey("transformer.id"), index=True)
    # Set only when the customer's cell differs from its transformer's.
    grid_cell_id: Mapped[int | None] = mapped_column(ForeignKey("grid_cell.id"))
    medical_equipment: Mapped[bool] = mapped_column(Boolean, default=False)
    has_peak_valley: Mapped[bool] = mapped_column(Boolean, default=False)
    balance: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    manager_name: Mapped[str | None] = mapped_column(String(32))
    manager_phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WechatBinding(Base):
    """A WeChat openid may be bound to several accounts (home, parents' home, shop)."""

    __tablename__ = "wechat_binding"
    __table_args__ = (UniqueConstraint("openid", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BindCode(Base):
    """A one-time code sent by SMS to an account's registered phone, to bind a WeChat user to it."""

    __tablename__ = "bind_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    #: sha256 of the salt and the code: the code itself is only in the SMS
    code_hash: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
