"""The tariff: three residential tiers (阶梯电价) per month, peak/valley adjustments, a flat rate for others.

Configurable by environment: `TARIFF_TIER1_LIMIT_KWH=230`, `TARIFF_TIER1_PRICE=0.5283`, and so on.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.core.config import ROOT

CENT = Decimal("0.01")


class Tariff(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TARIFF_", env_file=ROOT / ".env", extra="ignore")

    tier1_limit_kwh: int = 230
    tier2_limit_kwh: int = 400
    tier1_price: Decimal = Decimal("0.5283")
    tier2_price: Decimal = Decimal("0.5783")
    tier3_price: Decimal = Decimal("0.8283")
    # Added to peak kWh and taken off valley kWh for accounts on time-of-use metering.
    peak_surcharge: Decimal = Decimal("0.0300")
    valley_discount: Decimal = Decimal("0.2000")
    flat_price: Decimal = Decimal("0.6700")  # business, industrial and key accounts
    # The time-of-use periods, as customers are told them.
    peak_hours: str = "8:00至22:00"
    valley_hours: str = "22:00至次日8:00"


@lru_cache
def get_tariff() -> Tariff:
    return Tariff()


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def price(
    tariff: Tariff,
    *,
    kwh: int,
    customer_type: str,
    peak_kwh: int | None = None,
    valley_kwh: int | None = None,
) -> tuple[list[dict[str, Any]], Decimal]:
    """The tier breakdown and the amount of one month's use."""
    if customer_type == "resident":
        bands = [
            (1, min(kwh, tariff.tier1_limit_kwh), tariff.tier1_price),
            (2, max(0, min(kwh, tariff.tier2_limit_kwh) - tariff.tier1_limit_kwh), tariff.tier2_price),
            (3, max(0, kwh - tariff.tier2_limit_kwh), tariff.tier3_price),
        ]
    else:
        bands = [(1, kwh, tariff.flat_price)]
    tiers = [{"tier": t, "kwh": k, "price": float(p), "amount": float(money(p * k))} for t, k, p in bands]
    amount = sum((p * k for _, k, p in bands), Decimal(0))
    if peak_kwh is not None and valley_kwh is not None:
        amount += tariff.peak_surcharge * peak_kwh - tariff.valley_discount * valley_kwh
    return tiers, money(amount)
