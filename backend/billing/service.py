"""Billing service: issue a month's bill (with its push), list bills, compare with similar households,
and remind customers of bills left unpaid past their due date (the notifier's periodic job)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, literal, select
from sqlalchemy.orm import Session

from backend.billing.models import Bill
from backend.billing.schemas import BillCreate, BillRead, ComparisonRead, TariffRead, TariffTier, TierRead
from backend.billing.tariff import Tariff, price
from backend.core import clock
from backend.core.config import Settings
from backend.core.masking import mask_account
from backend.core.unique import add_unique
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.notifications.outbox import enqueue, enqueued

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
    enqueue(
        session,
        dedup_key=f"bill:{customer.account_no}:{bill.period}:issued",
        template="bill_issued",
        params=_params(bill, customer) | {"kwh": bill.kwh, "balance": str(bill.balance)},
        customer_id=customer.id,
    )
    return bill


def _params(bill: Bill, customer: Customer) -> dict[str, Any]:
    return {
        "account_no": customer.account_no,
        "account_masked": mask_account(customer.account_no),
        "customer_name": customer.name,
        "period": "{}年{}月".format(*(int(part) for part in bill.period.split("-"))),
        "amount": str(bill.amount),
        "due_date": bill.due_date.isoformat(),
    }


def periods_due_between(first: date, today: date) -> list[str]:
    """The billing periods whose due date falls on or after `first` and before `today`."""
    periods = []
    period = f"{today:%Y-%m}"
    while due_date_of(period) >= first:
        if due_date_of(period) < today:
            periods.append(period)
        period = shift_period(period, -1)
    return periods


def remind_arrears(
    session: Session, settings: Settings, *, after_id: int, limit: int, now: datetime | None = None
) -> int | None:
    """One page of the periodic job: an `arrears_reminder` for each unpaid bill that fell due in the
    last `arrears_reminder_days` days, once per bill (`bill:<account_no>:<period>:arrears`), telling
    the customer all they owe; non-urgent, so quiet hours hold it.

    Looks at up to `limit` such bills with ids above `after_id` not reminded of yet; returns the last
    id looked at, None after the last page.
    """
    today = (now or clock.now()).astimezone(clock.LOCAL_ZONE).date()
    periods = periods_due_between(today - timedelta(days=settings.arrears_reminder_days), today)
    reminded = enqueued(literal("bill:") + Customer.account_no + ":" + Bill.period + ":arrears")
    page = session.execute(
        select(Bill, Customer)
        .join(Customer, Customer.id == Bill.customer_id)
        .where(Bill.period.in_(periods), Bill.paid.is_(False), Bill.id > after_id, ~reminded)
        .order_by(Bill.id)
        .limit(limit)
    ).all()
    if not page:
        return None
    owed = dict(
        session.execute(
            select(Bill.customer_id, func.sum(Bill.amount))
            .where(Bill.customer_id.in_({customer.id for _, customer in page}))
            .where(Bill.paid.is_(False), Bill.due_date < today)
            .group_by(Bill.customer_id)
        ).all()
    )
    for bill, customer in page:
        enqueue(
            session,
            dedup_key=f"bill:{customer.account_no}:{bill.period}:arrears",
            template="arrears_reminder",
            params=_params(bill, customer) | {"arrears": f"{Decimal(owed[customer.id]):.2f}"},
            customer_id=customer.id,
        )
    return page[-1][0].id if len(page) == limit else None


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


def tariff_read(tariff: Tariff) -> TariffRead:
    tiers = [
        TariffTier(tier=1, up_to_kwh=tariff.tier1_limit_kwh, price=float(tariff.tier1_price)),
        TariffTier(tier=2, up_to_kwh=tariff.tier2_limit_kwh, price=float(tariff.tier2_price)),
        TariffTier(tier=3, up_to_kwh=None, price=float(tariff.tier3_price)),
    ]
    return TariffRead(
        tiers=tiers,
        flat_price=float(tariff.flat_price),
        peak_hours=tariff.peak_hours,
        valley_hours=tariff.valley_hours,
        peak_surcharge=float(tariff.peak_surcharge),
        valley_discount=float(tariff.valley_discount),
    )
