"""Billing service: issue a month's bill (with its push), list bills, compare with similar households."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from backend.billing.models import Bill
from backend.billing.schemas import BillCreate, BillRead, ComparisonRead, TierRead
from backend.billing.tariff import Tariff, price
from backend.core import clock
from backend.core.unique import add_unique
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.notifications.outbox import enqueue

PAYMENT_DAYS = 25  # days after the end of the period


def due_date_of(period: str) -> date:
    year, month = (int(p) for p in period.split("-"))
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next + timedelta(days=PAYMENT_DAYS - 1)


def shift_period(period: str, months: int) -> str:
    year, month = (int(p) for p in period.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def issue_bill(session: Session, tariff: Tariff, data: BillCreate) -> Bill:
    customer = customers.get_customer(session, data.account_no)
    tiers, amount = price(
        tariff,
        kwh=data.kwh,
        customer_type=customer.customer_type,
        peak_kwh=data.peak_kwh,
        valley_kwh=data.valley_kwh,
    )
    bill = Bill(
        customer_id=customer.id,
        period=data.period,
        kwh=data.kwh,
        peak_kwh=data.peak_kwh,
        valley_kwh=data.valley_kwh,
        tiers=tiers,
        amount=amount,
        paid=False,
        due_date=due_date_of(data.period),
        balance=customer.balance,
        issued_at=clock.now(),
    )
    add_unique(session, bill, f"户号 {data.account_no} 的 {data.period} 账单已存在")
    params = {
        "account_no": customer.account_no,
        "customer_name": customer.name,
        "period": bill.period,
        "kwh": bill.kwh,
        "amount": str(bill.amount),
        "due_date": bill.due_date.isoformat(),
        "balance": str(bill.balance),
    }
    enqueue(
        session,
        dedup_key=f"bill:{customer.account_no}:{bill.period}:issued",
        template="bill_issued",
        params=params,
        customer_id=customer.id,
    )
    return bill


def bills_of(session: Session, customer: Customer, months: int) -> Sequence[Row[Any]]:
    """The newest `months` bills as plain rows (a read path: no ORM bookkeeping)."""
    query = (
        select(
            Bill.period,
            Bill.kwh,
            Bill.amount,
            Bill.paid,
            Bill.due_date,
            Bill.balance,
            Bill.tiers,
            Bill.peak_kwh,
            Bill.valley_kwh,
        )
        .where(Bill.customer_id == customer.id)
        .order_by(Bill.period.desc())
        .limit(months)
    )
    return session.execute(query).all()


def read(bill: Bill | Row[Any], today: date) -> BillRead:
    overdue = not bill.paid and bill.due_date < today
    return BillRead(
        period=bill.period,
        kwh=bill.kwh,
        amount=float(bill.amount),
        paid=bill.paid,
        due_date=bill.due_date,
        balance=float(bill.balance),
        arrears=float(bill.amount) if overdue else 0.0,
        tiers=[TierRead.model_validate(t) for t in bill.tiers],
        peak_kwh=bill.peak_kwh,
        valley_kwh=bill.valley_kwh,
    )


def _kwh(session: Session, customer: Customer, period: str) -> int | None:
    return session.scalar(select(Bill.kwh).where(Bill.customer_id == customer.id, Bill.period == period))


def comparison(session: Session, customer: Customer) -> ComparisonRead | None:
    """The latest month against the median of similar households of the same grid cell."""
    latest = bills_of(session, customer, 1)
    if not latest:
        return None
    bill = latest[0]
    peers = list(
        session.scalars(
            select(Bill.kwh).where(
                Bill.period == bill.period,
                Bill.customer_id.in_(customers.similar_customer_ids(session, customer)),
            )
        )
    )
    median = float(statistics.median(peers)) if peers else None
    return ComparisonRead(
        period=bill.period,
        kwh=bill.kwh,
        cell_median_kwh=median,
        ratio=round(bill.kwh / median, 2) if median else None,
        previous_kwh=_kwh(session, customer, shift_period(bill.period, -1)),
        same_month_last_year_kwh=_kwh(session, customer, shift_period(bill.period, -12)),
        similar_households=len(peers),
    )
